"""The outbox's pending rows are kept in a narrow table of their own, `outbox_pending`, instead of
a `published` flag on each event.

Marking an event published used to update its `event_store` row: `published` is in the partial
index's predicate, so the update could never be HOT and wrote a new version of the whole row (the
JSON envelope included) and an entry in each of the table's five indexes, and left a dead tuple
of that size for autovacuum, for every event. Now an insert into `event_store` adds its positions
to `outbox_pending` (a statement trigger, in the inserting transaction, whoever inserts) and the
relay deletes them once the broker has them: `event_store` is only ever inserted into.

The relay still finds what to send by what is pending, not by tailing the position, so a row
whose transaction commits late (the sequence "gap") is never skipped: its pending row commits
with it.

Revision ID: runtime_0006
"""
from shared.migrations.sql import execute_all

revision = "runtime_0006"
down_revision = "runtime_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "create table outbox_pending (position bigint primary key)",
        "insert into outbox_pending (position) select position from event_store where not published",
        "drop trigger event_store_appended on event_store",
        "drop function event_store_notify()",
        # One statement per insert whatever its number of rows; the NOTIFY wakes the relay at commit.
        """create function event_store_appended() returns trigger language plpgsql as $$
           begin
               insert into outbox_pending (position) select position from appended;
               perform pg_notify('event_store', '');
               return null;
           end $$""",
        """create trigger event_store_appended after insert on event_store
           referencing new table as appended for each statement execute function event_store_appended()""",
        "drop index event_store_unpublished",
        "alter table event_store drop column published",
    )


def downgrade() -> None:
    execute_all(
        "alter table event_store add column published boolean not null default true",
        "update event_store e set published = false from outbox_pending p where p.position = e.position",
        "create index event_store_unpublished on event_store (position) where not published",
        "drop trigger event_store_appended on event_store",
        "drop function event_store_appended()",
        """create function event_store_notify() returns trigger language plpgsql as $$
           begin perform pg_notify('event_store', ''); return null; end $$""",
        """create trigger event_store_appended after insert on event_store
           for each statement execute function event_store_notify()""",
        "drop table outbox_pending",
    )
