"""The report catalogue: each report's name and title, and its CSV form. The figures come from SQL
over the typed read model (services/analytics/report_queries.py); their readable definition, the
reference the SQL is tested against, is in services/analytics/tests/reference/."""
from __future__ import annotations

import io
import json
from typing import Any

from shared.csv_cells import writer as csv_writer

TITLES = {
    "funnel": "漏斗 Funnel", "daily": "营业日报表 Daily business report", "channels": "渠道与活动 Channels & ROI",
    "grades": "有望客户级别 Grades", "lost-reasons": "战败原因 Loss reasons", "pyramid": "顾客金字塔 Value pyramid",
    "pareto": "二八法则 Pareto", "lifecycle": "客户生命周期 Lifecycle", "complaints": "抱怨投诉 Complaints",
    "workload": "工作量 Workload",
}


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
