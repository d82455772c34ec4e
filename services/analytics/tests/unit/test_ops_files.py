"""The Grafana dashboard queries the metrics the services really expose; the dashboard page is self-contained."""
from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401 - registers the metrics
from services.analytics.dashboard import SERVED, STATIC

ROOT = Path(__file__).resolve().parents[4]
GRAFANA = ROOT / "deploy" / "grafana" / "crm-operations.json"


def exposed_names() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            names.add(sample.name)
        names |= {metric.name, f"{metric.name}_total", f"{metric.name}_bucket", f"{metric.name}_count"}
    return names


def test_grafana_dashboard_uses_only_real_metrics_and_covers_operations():
    dash = json.loads(GRAFANA.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(crm_[a-z_]+)", e)}
    assert used <= exposed_names(), used - exposed_names()
    for needed in ("crm_http_request_seconds", "crm_consumer_lag", "crm_relay_backlog", "crm_dead_letters_total",
                   "crm_events_consumed_total", "crm_events_published_total", "crm_http_requests_total",
                   "crm_followup_tasks", "crm_dead_letters_stored"):
        assert any(needed in e for e in exprs), needed
    # a 5xx alert has something to fire on, and latency is watched at p95
    assert any("crm_http_requests_total" in e and 'status=~"5.."' in e for e in exprs)
    assert any(e.startswith("histogram_quantile(0.95") for e in exprs)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"] == "crm-operations"


def test_dashboard_page_loads_nothing_from_the_internet():
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert {"chart.umd.min.js", "dashboard.js", "dashboard.css", "customer.html"} <= SERVED
    assert "Chart.js v4" in (STATIC / "chart.umd.min.js").read_text(encoding="utf-8")[:200]
    assert "MIT" in (STATIC / "chart.js.LICENSE.md").read_text(encoding="utf-8")
