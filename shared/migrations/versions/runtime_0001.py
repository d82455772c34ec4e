"""Runtime tables every service has: event store/outbox, streams, inbox, idempotency keys.

Revision ID: runtime_0001
"""
from shared.migrations.sql import execute_all

revision = "runtime_0001"
down_revision = None
branch_labels = ("runtime",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table streams (
            stream_id text primary key,
            version integer not null check (version > 0))""",
        """create table event_store (
            position bigint generated always as identity primary key,
            event_id uuid not null unique,
            stream_id text not null,
            stream_version integer not null,
            event_type text not null,
            schema_version integer not null,
            customer_id uuid not null,
            occurred_at timestamptz not null,
            recorded_at timestamptz not null,
            envelope jsonb not null,
            published boolean not null default false,
            unique (stream_id, stream_version))""",
        # The relay reads unpublished rows instead of tailing by position, so a row
        # whose transaction commits late (the sequence "gap") is never skipped.
        "create index event_store_unpublished on event_store (position) where not published",
        "create index event_store_customer on event_store (customer_id, position)",
        """create function event_store_notify() returns trigger language plpgsql as $$
           begin perform pg_notify('event_store', ''); return null; end $$""",
        """create trigger event_store_appended after insert on event_store
           for each statement execute function event_store_notify()""",
        """create table relay_offsets (
            topic text not null,
            partition integer not null,
            next_offset bigint not null,
            last_event_id uuid not null,
            primary key (topic, partition))""",
        """create table inbox (
            consumer text not null,
            message_id uuid not null,
            topic text not null,
            partition integer not null,
            "offset" bigint not null,
            outcome text not null default 'applied',
            applied_at timestamptz not null default now(),
            primary key (consumer, message_id))""",
        """create table idempotency_keys (
            principal text not null,
            key text not null,
            method text not null,
            path text not null,
            request_hash text not null,
            status_code integer,
            response jsonb,
            created_at timestamptz not null default now(),
            primary key (principal, key))""",
    )


def downgrade() -> None:
    execute_all(
        "drop table idempotency_keys", "drop table inbox", "drop table relay_offsets",
        "drop trigger event_store_appended on event_store", "drop function event_store_notify()",
        "drop table event_store", "drop table streams",
    )
