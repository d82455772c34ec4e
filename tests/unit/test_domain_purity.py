"""Every service's domain package is plain Python: no framework, database or broker
imports; and where the rules are pure by design, no clock, randomness or I/O."""
import ast
import importlib
from pathlib import Path

import pytest

ADAPTERS = {"fastapi", "starlette", "asyncpg", "aiokafka", "sqlalchemy", "psycopg", "httpx", "requests",
            "socket", "subprocess", "asyncio", "logging", "structlog", "uvicorn"}
IMPURE_CALLS = ("open(", "datetime.now", "datetime.utcnow", "date.today", "time.time", "uuid4(", "print(")
# Intake's domain streams the business-card files it imports (cards_import, sample_cards).
PURE_BY_DESIGN = {"grading", "followup", "analytics"}


def domain_files(service: str) -> list[Path]:
    root = Path(importlib.import_module(f"services.{service}.domain").__file__).parent
    return sorted(root.glob("*.py"))


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("service", ["intake", "grading", "followup", "analytics"])
def test_domain_imports_no_adapter(service):
    for path in domain_files(service):
        for name in imported(path):
            assert name.split(".")[0] not in ADAPTERS, f"{service}/domain/{path.name} imports {name}"
            if name.startswith(("shared.", "services.")):
                allowed = ("shared.events", "shared.errors", "shared.pii", "shared.value_ranking", "shared.business_time",
                           "shared.masking", "shared.csv_cells", f"services.{service}.domain")
                assert name.startswith(allowed), f"{service}/domain/{path.name} imports {name}"


@pytest.mark.parametrize("service", sorted(PURE_BY_DESIGN))
def test_pure_domains_read_no_clock_and_do_no_io(service):
    for path in domain_files(service):
        text = path.read_text()
        for call in IMPURE_CALLS:
            assert call not in text, f"{service}/domain/{path.name} uses {call}"
        for name in imported(path):
            assert name.split(".")[0] not in {"os", "random", "time"}, f"{service}/domain/{path.name} imports {name}"
