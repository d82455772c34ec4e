"""Follow-up: each owner's pending work kept as a counter, so choosing the least-loaded
consultant reads one row per roster member instead of counting every open task.

A trigger keeps it, so every path that writes tasks (consumers, HTTP, jobs, erasure)
counts the same way.

Revision ID: followup_0004
"""
from shared.migrations.sql import execute_all

revision = "followup_0004"
down_revision = "followup_0003"
branch_labels = None
depends_on = None


# The counting by row triggers (also what followup_0006's downgrade restores)
ROW_COUNTING = (
    """create function tasks_count_load() returns trigger language plpgsql as $$
       begin
         if tg_op in ('UPDATE', 'DELETE') and old.status in ('open', 'overdue') then
           update owner_load set pending = pending - 1 where owner_id = old.owner_id;
         end if;
         if tg_op in ('INSERT', 'UPDATE') and new.status in ('open', 'overdue') then
           insert into owner_load (owner_id, pending) values (new.owner_id, 1)
           on conflict (owner_id) do update set pending = owner_load.pending + 1;
         end if;
         return null;
       end $$""",
    """create trigger tasks_count_load_insert after insert or delete on tasks
       for each row execute function tasks_count_load()""",
    """create trigger tasks_count_load_update after update of status, owner_id on tasks for each row
       when (old.status is distinct from new.status or old.owner_id is distinct from new.owner_id)
       execute function tasks_count_load()""",
)


def upgrade() -> None:
    execute_all(
        "create table owner_load (owner_id text primary key, pending integer not null default 0)",
        """insert into owner_load (owner_id, pending)
           select owner_id, count(*) from tasks where status in ('open', 'overdue') group by owner_id""",
        *ROW_COUNTING,
    )


def downgrade() -> None:
    execute_all("drop trigger tasks_count_load_update on tasks", "drop trigger tasks_count_load_insert on tasks",
                "drop function tasks_count_load()", "drop table owner_load")
