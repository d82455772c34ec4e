"""Follow-up: why each customer's owner is who it is (`owner_basis`), the roster in the shared
`consultant_teams` rows that access reads in every service, and no more pseudo owner
`unassigned` on a customer (an unowned customer has no owner; only work can wait unassigned).
The owners already decided reach `customer_owners` (and, as events, the other services) at
start-up (services/followup/ownership.publish_missing).

Revision ID: followup_0005
"""
from shared.migrations.sql import execute_all

revision = "followup_0005"
down_revision = "followup_0004"
branch_labels = None
depends_on = "runtime_0004"


def upgrade() -> None:
    execute_all(
        "alter table prospects add column owner_basis text",
        "update prospects set owner_id = null where owner_id = 'unassigned'",
        "update prospects set owner_basis = 'named' where owner_id is not null",
        """insert into consultant_teams (consultant_id, team, active, changed_at)
           select consultant_id, team, active, added_at from consultants
           on conflict (consultant_id) do update set team = excluded.team, active = excluded.active""",
    )


def downgrade() -> None:
    execute_all("alter table prospects drop column owner_basis")
