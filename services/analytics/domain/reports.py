"""The report catalogue: name -> pure function of (customer states, campaign costs, filters)."""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from shared.csv_cells import writer as csv_writer

from . import activity, complaints, sales, value
from .filters import Filters

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
TITLES = {
    "funnel": "漏斗 Funnel", "daily": "营业日报表 Daily business report", "channels": "渠道与活动 Channels & ROI",
    "grades": "有望客户级别 Grades", "lost-reasons": "战败原因 Loss reasons", "pyramid": "顾客金字塔 Value pyramid",
    "pareto": "二八法则 Pareto", "lifecycle": "客户生命周期 Lifecycle", "complaints": "抱怨投诉 Complaints",
    "workload": "工作量 Workload",
}


def run(name: str, states: list[dict], costs: list[dict], f: Filters) -> dict[str, Any]:
    body = REPORTS[name](states, costs, f)
    return {"report": name, "title": TITLES[name], "filters": f.as_dict(), **body}


def to_csv(report: dict[str, Any]) -> str:
    """The report's rows as CSV (nested values as JSON; no cell a spreadsheet would run as a formula)."""
    rows = report.get("rows", [])
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else json.dumps(row[c], ensure_ascii=False)
                         if isinstance(row.get(c), dict | list) else row[c] for c in columns])
    return out.getvalue()
