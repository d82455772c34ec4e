"""Follow-up: each owner's pending-work counter kept once per statement, not once per task row.

The row triggers of followup_0004 upserted `owner_load` once per task written: a batch of 500
first contacts for eight consultants made 500 upserts of the same eight rows in one transaction.
Statement triggers with transition tables add each owner's difference once per statement, owners
in id order (two statements lock the counters they share in the same order). What is counted is
unchanged: a task counts for its owner while its status is open or overdue.

Revision ID: followup_0006
"""
from services.followup.migrations.followup_0004 import ROW_COUNTING
from shared.migrations.sql import execute_all

revision = "followup_0006"
down_revision = "followup_0005"
branch_labels = None
depends_on = None

PENDING = "status in ('open', 'overdue')"


def _add(rows: str) -> str:
    """Add each owner's difference (`rows`: owner_id, d) to its counter, owners in order."""
    return f"""insert into owner_load (owner_id, pending)
               select owner_id, d from (select owner_id, sum(d)::int as d from ({rows}) r group by owner_id) s
               where d <> 0 order by owner_id
               on conflict (owner_id) do update set pending = owner_load.pending + excluded.pending;"""


def upgrade() -> None:
    added = f"select owner_id, 1 as d from new_rows where {PENDING}"
    removed = f"select owner_id, -1 as d from old_rows where {PENDING}"
    execute_all(
        "drop trigger tasks_count_load_update on tasks",
        "drop trigger tasks_count_load_insert on tasks",
        "drop function tasks_count_load()",
        f"""create function tasks_count_load() returns trigger language plpgsql as $$
            begin
              if tg_op = 'INSERT' then
                {_add(added)}
              elsif tg_op = 'DELETE' then
                {_add(removed)}
              else
                {_add(f"{added} union all {removed}")}
              end if;
              return null;
            end $$""",
        """create trigger tasks_count_load_insert after insert on tasks
           referencing new table as new_rows for each statement execute function tasks_count_load()""",
        """create trigger tasks_count_load_delete after delete on tasks
           referencing old table as old_rows for each statement execute function tasks_count_load()""",
        # no column list: PostgreSQL refuses transition tables on `update of status, owner_id`
        """create trigger tasks_count_load_update after update on tasks
           referencing old table as old_rows new table as new_rows for each statement
           execute function tasks_count_load()""",
    )


def downgrade() -> None:
    execute_all(
        "drop trigger tasks_count_load_update on tasks",
        "drop trigger tasks_count_load_delete on tasks",
        "drop trigger tasks_count_load_insert on tasks",
        "drop function tasks_count_load()",
        *ROW_COUNTING,
    )
