"""Any delivery order gives the same projections; the 360 answers for past moments and masks by role."""
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.analytics.domain.customer360 import build_360, masked_view
from services.analytics.domain.filters import Filters
from services.analytics.tests.reference.reports import REPORTS, run
from services.analytics.domain.state import fold_all
from services.analytics.tests.history import History

HISTORY = History(seed=3, customers=25)
NOW = datetime(2026, 9, 1, tzinfo=UTC)


def everything(events) -> str:
    states = fold_all(events)
    reports = {n: run(n, states, [], Filters(now=NOW)) for n in REPORTS}
    return json.dumps({"states": states, "reports": reports}, sort_keys=True)


BASELINE = everything(HISTORY.events)


def cross_topic_interleaving(events, rng: random.Random):
    """Each topic keeps its own order (per partition); topics interleave arbitrarily."""
    topics: dict[str, list] = {}
    for e in events:
        topics.setdefault(e.event_type, []).append(e)
    queues = [list(q) for q in topics.values()]
    out = []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_cross_topic_orders_give_the_same_projections(rng):
    assert everything(cross_topic_interleaving(HISTORY.events, rng)) == BASELINE


@settings(max_examples=10, deadline=None)
@given(st.permutations(list(range(len(HISTORY.events)))))
def test_any_order_at_all_gives_the_same_projections(order):
    assert everything([HISTORY.events[i] for i in order]) == BASELINE


def test_as_of_answers_for_a_past_moment():
    survivor = HISTORY.survivor
    events = [e for e in HISTORY.events if str(e.customer_id) in (survivor, HISTORY.merged)]
    merge_at = next(e.occurred_at for e in events if e.event_type == "customer-merged")
    deal_at = next(e.occurred_at for e in events if e.event_type == "deal-closed")
    before = build_360(survivor, events, deal_at - timedelta(seconds=1))
    after = build_360(survivor, events, merge_at)
    assert before["deals"] == [] and len(after["deals"]) == 1
    assert after["merged_from"] == [HISTORY.merged] and before["merged_from"] == []
    assert build_360(survivor, events, datetime(2000, 1, 1, tzinfo=UTC))["event_count"] == 0


def test_masking():
    """The 360 masks with the project's one masking (shared.masking), as intake's card does."""
    masked = masked_view({"profile": {"name": "王芳", "phone": "+8613800138000", "email": "wang.fang@example.com",
                                      "region": "东区"}, "contacts": [], "profile_masked": False})
    assert masked["profile"] == {"name": "王*", "phone": "+86138****8000", "email": "wa***@example.com",
                                 "region": None}
    assert masked["profile_masked"] is True
    view = build_360(HISTORY.survivor, [e for e in HISTORY.events if str(e.customer_id) == HISTORY.survivor],
                     full_profile=False)
    assert view["profile"]["phone"] != "+8613800138000" and view["profile_masked"]
