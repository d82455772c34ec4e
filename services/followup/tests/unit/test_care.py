"""Birthday/anniversary care, base-customer maintenance and decline recovery."""
import uuid
from datetime import date, timedelta

from services.followup.domain import (
    CareCustomer,
    TaskKind,
    base_maintenance_tasks,
    care_tasks,
    care_window,
    decline_recovery_task,
    needs_base_maintenance,
)
from services.followup.domain.care import full_years_between, yearly_occurrences

from .factories import CUSTOMER, NOW, OTHER_CUSTOMER, POLICY, at, record, task


def customer(**kw):
    kw.setdefault("customer_id", CUSTOMER)
    kw.setdefault("owner_id", "alice")
    return CareCustomer(**kw)


def test_yearly_occurrences_and_leap_day():
    assert yearly_occurrences(date(1990, 6, 5), date(2024, 6, 1), date(2024, 6, 30)) == [date(2024, 6, 5)]
    assert yearly_occurrences(date(1992, 2, 29), date(2023, 2, 1), date(2023, 3, 1)) == [date(2023, 2, 28)]
    assert yearly_occurrences(date(1992, 2, 29), date(2024, 2, 1), date(2024, 3, 1)) == [date(2024, 2, 29)]
    assert yearly_occurrences(date(2024, 6, 5), date(2024, 6, 1), date(2024, 6, 30)) == []  # the day itself
    assert yearly_occurrences(date(2020, 1, 1), date(2022, 12, 1), date(2024, 1, 31)) == [date(2023, 1, 1),
                                                                                           date(2024, 1, 1)]


def test_care_window_uses_the_lead_time():
    assert care_window(date(2024, 6, 3), POLICY) == (date(2024, 6, 3), date(2024, 6, 10))


def test_birthday_and_vehicle_birthday_tasks_due_at_end_of_the_day():
    c = customer(birthday=date(1985, 6, 5), purchase_dates=(date(2021, 6, 9),))
    tasks = care_tasks([c], *care_window(date(2024, 6, 3), POLICY), NOW, POLICY)
    assert {(t.kind, t.due_at) for t in tasks} == {(TaskKind.BIRTHDAY_CARE, at(2024, 6, 5, 18)),
                                                   (TaskKind.ANNIVERSARY_CARE, at(2024, 6, 9, 18))}
    assert all(t.marketing and t.owner_id == "alice" for t in tasks)


def test_care_is_idempotent_and_respects_consent():
    c = customer(birthday=date(1985, 6, 5))
    first = care_tasks([c], date(2024, 6, 1), date(2024, 6, 30), NOW, POLICY)
    assert len(first) == 1
    assert care_tasks([c], date(2024, 6, 1), date(2024, 6, 30), NOW, POLICY, existing=first) == []
    # overlapping windows on consecutive days produce the same task id
    assert care_tasks([c], date(2024, 6, 4), date(2024, 6, 11), NOW, POLICY)[0].task_id == first[0].task_id
    refused = customer(birthday=date(1985, 6, 5), marketing_allowed=False)
    assert care_tasks([refused], date(2024, 6, 1), date(2024, 6, 30), NOW, POLICY) == []


def test_full_years():
    assert full_years_between(date(2021, 6, 1), date(2024, 6, 1)) == 3
    assert full_years_between(date(2021, 6, 2), date(2024, 6, 1)) == 2
    assert full_years_between(date(2020, 2, 29), date(2023, 2, 28)) == 3


def test_base_maintenance_age_is_three_years_on_the_first_of_the_month():
    june = date(2024, 6, 15)
    assert needs_base_maintenance(customer(purchase_dates=(date(2021, 6, 1),)), june, POLICY)  # 3 years: 以上 includes
    assert not needs_base_maintenance(customer(purchase_dates=(date(2021, 6, 2),)), june, POLICY)
    assert needs_base_maintenance(customer(purchase_dates=(date(2021, 6, 2),)), date(2024, 7, 1), POLICY)
    assert not needs_base_maintenance(customer(purchase_dates=()), june, POLICY)
    assert needs_base_maintenance(customer(purchase_dates=(date(2024, 1, 1), date(2010, 1, 1))), june, POLICY)


def test_base_maintenance_monthly_and_only_missing_ones():
    old = customer(purchase_dates=(date(2019, 3, 1),))
    old2 = customer(customer_id=OTHER_CUSTOMER, purchase_dates=(date(2020, 3, 1),))
    young = customer(customer_id=uuid.uuid4(), purchase_dates=(date(2023, 3, 1),))
    first = base_maintenance_tasks([old, old2, young], date(2024, 6, 1), [], NOW, POLICY)
    assert {t.customer_id for t in first} == {CUSTOMER, OTHER_CUSTOMER}
    assert all(t.kind == TaskKind.BASE_MAINTENANCE and t.key == "2024-06" and t.due_at == at(2024, 6, 30, 18)
               for t in first)
    # running again with what exists returns nothing, even if a task was done or cancelled meanwhile
    existing = [first[0].complete(record(), NOW).task, first[1].cancel("customer abroad", NOW).task]
    assert base_maintenance_tasks([old, old2, young], date(2024, 6, 20), existing, NOW, POLICY) == []
    # partially covered: only the missing customer
    assert [t.customer_id for t in base_maintenance_tasks([old, old2], date(2024, 6, 1), [first[0]], NOW,
                                                          POLICY)] == [first[1].customer_id]
    # a new month is a new contact
    july = base_maintenance_tasks([old, old2], date(2024, 7, 1), existing, NOW, POLICY)
    assert len(july) == 2 and all(t.key == "2024-07" for t in july)


def test_base_maintenance_respects_consent_and_the_configured_age():
    refused = customer(purchase_dates=(date(2010, 1, 1),), marketing_allowed=False)
    assert base_maintenance_tasks([refused], date(2024, 6, 1), [], NOW, POLICY) == []
    five = POLICY.model_copy(update={"base_maintenance_min_age_years": 5})
    assert base_maintenance_tasks([customer(purchase_dates=(date(2020, 1, 1),))], date(2024, 6, 1), [], NOW,
                                  five) == []


def test_decline_recovery():
    cause = uuid.uuid4()
    kw = dict(customer_id=CUSTOMER, owner_id="alice", detected_at=NOW, cause_id=cause, now=NOW, policy=POLICY)
    t = decline_recovery_task(**kw)
    assert (t.kind, t.due_at, t.marketing) == (TaskKind.DECLINE_RECOVERY, NOW + timedelta(days=7), True)
    assert decline_recovery_task(**kw, existing=[t]) is None  # same report twice
    assert decline_recovery_task(**{**kw, "cause_id": uuid.uuid4()}, existing=[t]) is None  # one pending at a time
    done = t.complete(record(), NOW).task
    assert decline_recovery_task(**{**kw, "cause_id": uuid.uuid4()}, existing=[done]) is not None
    assert decline_recovery_task(**kw, marketing_allowed=False) is None
    assert task(TaskKind.DECLINE_RECOVERY).marketing
