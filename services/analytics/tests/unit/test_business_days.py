"""Report days are business days (shared.business_time), the same days follow-up and grading judge by:
an evening walk-in in UTC is the next morning's in the business's zone."""
import uuid
from datetime import UTC, date, datetime

from services.analytics.domain.filters import Filters
from services.analytics.tests.reference.reports import run
from services.analytics.domain.state import fold_customer
from shared.business_time import end_of_business_day
from shared.events.contract import ContactReceived, CustomerAssigned
from shared.events.envelope import new_event

CID = uuid.UUID(int=7)
LATE = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 04:30 on 2 March in Shanghai


def state():
    events = [new_event(ContactReceived(contact_id=uuid.UUID(int=8), channel="walk_in", consultant_id="c-1"),
                        customer_id=CID, producer="intake", occurred_at=LATE),
              new_event(CustomerAssigned(owner_id="c-1", basis="named"), customer_id=CID, producer="followup",
                        occurred_at=LATE)]
    return fold_customer(str(CID), events)


def test_a_walk_in_counts_on_its_business_day():
    now = datetime(2026, 3, 5, tzinfo=UTC)
    daily = run("daily", [state()], [], Filters(now=now))
    assert [(r["date"], r["walk_ins"]) for r in daily["rows"]] == [("2026-03-02", 1)]
    assert run("daily", [state()], [], Filters(now=now, date_from=date(2026, 3, 2)))["rows"]
    assert not run("daily", [state()], [], Filters(now=now, date_to=date(2026, 3, 1)))["rows"]


def test_as_of_a_day_is_the_end_of_that_business_day():
    assert end_of_business_day(date(2026, 3, 1)).isoformat() == "2026-03-01T15:59:59.999999+00:00"


def test_the_edges_of_the_calendar_have_a_day():
    from shared.business_time import business_day_of

    assert business_day_of("9999-12-31T23:00:00+00:00") == "9999-12-31"
    assert business_day_of("0001-01-01T00:00:00+00:00") == "0001-01-01"
