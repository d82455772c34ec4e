"""docs/privacy.md shows the access policy the code enforces (shared.access.POLICY)."""
from pathlib import Path

from shared.access import policy_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def test_the_documented_table_is_the_policy():
    assert policy_table() in DOC.read_text(encoding="utf-8"), \
        "docs/privacy.md: paste shared.access.policy_table() into 'Who may see and do what'"
