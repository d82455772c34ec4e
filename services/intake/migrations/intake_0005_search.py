"""Intake: customer search (`GET /v1/customers?q=`) by the beginning of a name and the end of a phone.

Two expression indexes, built over the rows already there (nothing to backfill): the lower-cased
name of live customers, and the reversed phone keys (`phone:+86...` read backwards), so that "the
number ending 8000" is a prefix range scan like the name. `text_pattern_ops` compares code points,
which is what the searches' `~>=~` / `~<~` ranges ask for. Email search is the identity key itself.

Revision ID: intake_0005_search
"""
from shared.migrations.sql import execute_all

revision = "intake_0005_search"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create index customers_name_prefix on customers (lower(name) text_pattern_ops, customer_id)
           where merged_into is null and erased_at is null and name is not null""",
        """create index identity_keys_phone_suffix on identity_keys (reverse(key) text_pattern_ops)
           where key like 'phone:%'""",
    )


def downgrade() -> None:
    execute_all("drop index identity_keys_phone_suffix", "drop index customers_name_prefix")
