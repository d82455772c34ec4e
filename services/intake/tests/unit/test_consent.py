from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.consent import (
    ConsentDecision,
    ConsentIn,
    ContactPurpose,
    apply_consent,
    consent_decision,
    contact_permitted,
    fold_consent,
    marketing_allowed,
    to_consent_changed,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def grant(t, source="web"):
    return ConsentDecision(True, t, source)


def refuse(t, source="phone"):
    return ConsentDecision(False, t, source)


def test_unknown_is_allowed_by_default_and_configurable():
    assert marketing_allowed(None) is True
    assert marketing_allowed(None, default_allowed=False) is False


def test_refusal_stops_marketing_only():
    state = fold_consent([grant(T0), refuse(T0 + timedelta(days=1))])
    assert not marketing_allowed(state)
    assert not contact_permitted(state, ContactPurpose.MARKETING)
    assert contact_permitted(state, ContactPurpose.COMPLAINT_HANDLING)
    assert contact_permitted(state, ContactPurpose.REQUESTED_SERVICE)


def test_refusal_wins_over_older_permission_arriving_later():
    state = apply_consent(refuse(T0 + timedelta(days=1)), grant(T0))
    assert not state.marketing_allowed


def test_newer_permission_wins_over_older_refusal():
    state = fold_consent([refuse(T0), grant(T0 + timedelta(days=1))])
    assert state.marketing_allowed


def test_refusal_wins_a_tie():
    assert not apply_consent(grant(T0), refuse(T0)).marketing_allowed
    assert not apply_consent(refuse(T0), grant(T0)).marketing_allowed


def test_naive_time_rejected():
    with pytest.raises(ValueError):
        ConsentDecision(True, datetime(2024, 1, 1))


def test_request_and_event_mapping():
    body = ConsentIn.model_validate({"marketing_allowed": False, "source": " 电话 "})
    decision = consent_decision(body, T0)
    assert decision == ConsentDecision(False, T0, "电话")
    event = to_consent_changed(decision)
    assert event.marketing_allowed is False and event.source == "电话"
    assert to_consent_changed(ConsentDecision(True, T0)).source is None


decisions = st.lists(
    st.builds(
        ConsentDecision,
        st.booleans(),
        st.integers(min_value=0, max_value=20).map(lambda h: T0 + timedelta(hours=h)),
        st.sampled_from(["web", "phone", "walk_in"]),
    ),
    min_size=1,
    max_size=12,
)


@given(decisions, st.randoms(use_true_random=False))
def test_property_order_of_arrival_does_not_matter(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert fold_consent(items) == fold_consent(shuffled)
    # idempotent: replaying everything changes nothing
    assert fold_consent(items + shuffled) == fold_consent(items)
    # the latest decision decides; a refusal wins at the latest time
    latest = max(d.occurred_at for d in items)
    at_latest = {d.marketing_allowed for d in items if d.occurred_at == latest}
    assert fold_consent(items).marketing_allowed == (False not in at_latest)
