"""The reports as pure functions of the folded customer states: the reference the SQL reports
(services/analytics/report_queries.py) are held to, figure for figure
(tests/integration/test_sql_reports.py), and the readable definition of every figure."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.analytics.domain.filters import Filters
from services.analytics.domain.reports import TITLES

from . import activity, complaints, sales, value

Report = Callable[[list[dict], list[dict], Filters], dict[str, Any]]

REPORTS: dict[str, Report] = {
    "funnel": lambda s, c, f: sales.funnel(s, f),
    "daily": lambda s, c, f: activity.daily(s, f),
    "channels": sales.channels,
    "grades": lambda s, c, f: sales.grades(s, f),
    "lost-reasons": lambda s, c, f: sales.lost_reasons(s, f),
    "pyramid": lambda s, c, f: value.pyramid(s, f),
    "pareto": lambda s, c, f: value.pareto(s, f),
    "lifecycle": lambda s, c, f: value.lifecycle(s, f),
    "complaints": lambda s, c, f: complaints.complaints(s, f),
    "workload": lambda s, c, f: activity.workload(s, f),
}


def run(name: str, states: list[dict], costs: list[dict], f: Filters) -> dict[str, Any]:
    body = REPORTS[name](states, costs, f)
    return {"report": name, "title": TITLES[name], "filters": f.as_dict(), **body}
