"""Collects what the fault and hostile-input tests injected, and how it went,
into a table: test-artifacts/reliability.md always, docs/reliability.md when
the whole suite ran (so the document is produced by the test run)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPLIED_ONCE = "every accepted contact graded once, one task, one analytics record"
_records: dict[str, list[Injection]] = {}
_outcomes: dict[str, str] = {}


@dataclass
class Injection:
    fault: str
    times: int
    checked: str = ""


@dataclass
class Recorder:
    nodeid: str
    items: list[Injection] = field(default_factory=list)

    def record(self, fault: str, times: int = 1, checked: str = "") -> None:
        self.items.append(Injection(fault, times, checked))


@pytest.fixture
def reliability(request) -> Recorder:
    recorder = Recorder(request.node.nodeid)
    _records[recorder.nodeid] = recorder.items
    return recorder


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)  # read by fixtures that act on a failed test
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        # an expected failure (xfail) is an open problem, not a skip: say so in the table
        _outcomes[item.nodeid] = "failed (known, open)" if hasattr(report, "wasxfail") else report.outcome


def pytest_sessionfinish(session, exitstatus):
    rows = [(inj, _outcomes.get(nodeid, "not run"), nodeid)
            for nodeid, items in _records.items() for inj in items]
    if not rows:
        return
    lines = [
        "# Reliability: faults and hostile input tried",
        "",
        f"Produced by the test run (`scripts/test`) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        "each row is a fault or input class injected for real on the embedded stack.",
        "",
        "| fault or input | times | what was checked afterwards | outcome | test |",
        "|---|---|---|---|---|",
    ]
    for inj, result, nodeid in sorted(rows, key=lambda r: r[2]):
        lines.append(f"| {inj.fault} | {inj.times} | {inj.checked} | {result} | `{nodeid.split('::', 1)[-1]}` |")
    text = "\n".join(lines) + "\n"
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "reliability.md").write_text(text)
    if not session.config.args or session.config.args == [str(ROOT)] or _whole_suite(session):
        (ROOT / "docs" / "reliability.md").write_text(text)


def _whole_suite(session) -> bool:
    return not session.config.option.keyword and set(session.config.args) <= {"tests", "services", "."}
