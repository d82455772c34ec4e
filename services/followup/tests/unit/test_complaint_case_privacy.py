"""A complaint case as follow-up shows and stores it: the remedy and the survey comment are free
text about the customer (masked unless the reader may see them; never kept or sealed anew once the
customer is erased); the customer's own description is never in the case's JSON."""
from __future__ import annotations

import json
import uuid

import pytest

from services.followup import complaint_store
from services.followup.domain import acknowledge, file_complaint, record_survey, resolve
from services.followup.tests.unit.factories import CUSTOMER, NOW, POLICY
from shared.events.enums import ComplaintCategory, ComplaintSeverity
from shared.runtime import vault as vaults

DESCRIPTION, REMEDY, COMMENT = "车漆起泡 planted-d1", "免费补漆 planted-r2", "还算满意 planted-c3"


def surveyed_case():
    case = file_complaint(complaint_id=uuid.uuid4(), customer_id=CUSTOMER, severity=ComplaintSeverity.MEDIUM,
                          owner_id="alice", filed_at=NOW, policy=POLICY, description=DESCRIPTION,
                          category=ComplaintCategory.PRODUCT_QUALITY)
    case = acknowledge(case, by="alice", now=NOW)
    case = resolve(case, root_cause=ComplaintCategory.PRODUCT_QUALITY, remedy=REMEDY, by="alice", now=NOW)
    return record_survey(case, satisfaction=4, now=NOW, comment=COMMENT)


def test_masked_case_json_holds_no_free_text_about_the_customer():
    case = surveyed_case()
    masked = complaint_store.as_json(case, NOW)  # masked unless told otherwise
    text = json.dumps(masked, ensure_ascii=False)
    assert "planted" not in text
    assert masked["remedy"] is None and masked["survey_comment"] is None and "description" not in masked
    assert masked["satisfaction"] == 4 and masked["root_cause"] == "product_quality" and masked["status"] == "surveyed"
    full = complaint_store.as_json(case, NOW, full=True)
    assert full["remedy"] == REMEDY and full["survey_comment"] == COMMENT and "description" not in full
    assert {k: v for k, v in full.items() if k not in ("remedy", "survey_comment")} == {
        k: v for k, v in masked.items() if k not in ("remedy", "survey_comment")}


class FakeConn:
    """Just enough of asyncpg for complaint_store.save and shared.runtime.store.append."""

    def __init__(self) -> None:
        self.saved: list[str] = []
        self.envelopes: list[str] = []

    async def execute(self, sql: str, *args):
        if "complaint_cases" in sql:
            self.saved.append(args[8])
        elif "event_store" in sql:
            self.envelopes.extend(args[8])

    async def fetchval(self, sql: str, *args):
        return 1

    async def fetch(self, sql: str, *args):  # append: the version bump and the insert, one statement
        if "event_store" in sql:
            self.envelopes.extend(args[8])
        return [(1,)]


class FakeVault:
    def __init__(self, erased: set[uuid.UUID]) -> None:
        self.erased_ids, self.sealed_for = erased, []

    async def erased(self, customer_ids):
        return {c: NOW for c in customer_ids if c in self.erased_ids}

    async def keys_for_sealing(self, customer_ids):
        if set(customer_ids) & self.erased_ids:
            raise vaults.CustomerErased("erased", field="customer_id", location="path")
        self.sealed_for.extend(customer_ids)
        return {c: b"k" * 32 for c in customer_ids}


@pytest.fixture
def vault():
    def install(erased: set[uuid.UUID]) -> FakeVault:
        fake = FakeVault(erased)
        vaults.install(fake)
        return fake

    yield install
    vaults.install(None)


async def test_the_remedy_is_published_sealed_with_the_customers_key(vault):
    fake, conn = vault(set()), FakeConn()
    await complaint_store.record(conn, surveyed_case(), NOW)
    [envelope] = [json.loads(e) for e in conn.envelopes]
    assert envelope["sealed"] == ["remedy"] and envelope["payload"]["remedy"].startswith("sealed:v1:")
    assert fake.sealed_for == [CUSTOMER] and envelope["customer_id"] == str(CUSTOMER)
    assert REMEDY in conn.saved[0]  # the case itself keeps it (a query table, dropped on erasure)


async def test_an_erased_customers_case_goes_on_without_its_free_text(vault):
    vault({CUSTOMER})
    conn = FakeConn()
    await complaint_store.record(conn, surveyed_case(), NOW)  # no CustomerErased: nothing to seal
    assert "planted-r2" not in conn.saved[0] and "planted-c3" not in conn.saved[0]
    [envelope] = [json.loads(e) for e in conn.envelopes]
    assert envelope["payload"]["remedy"] is None and envelope["payload"]["status"] == "surveyed"
