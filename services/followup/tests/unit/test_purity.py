"""The domain package is pure: no framework, database or broker imports, no clock, no I/O."""
import ast
from pathlib import Path

import services.followup.domain as domain

FORBIDDEN = {"fastapi", "asyncpg", "aiokafka", "sqlalchemy", "starlette", "httpx", "requests", "psycopg",
             "socket", "subprocess", "os", "asyncio", "logging", "structlog", "time", "random"}
ROOT = Path(domain.__file__).parent


def test_domain_imports_nothing_impure():
    for path in ROOT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                if name.startswith("shared."):
                    assert name in ("shared.events.enums", "shared.events.contract"), f"{path.name} imports {name}"


def test_domain_does_not_read_the_clock_or_open_files():
    for path in ROOT.glob("*.py"):
        text = path.read_text()
        for call in ("open(", "datetime.now", "datetime.utcnow", "date.today", "time.time", "uuid4(", "print("):
            assert call not in text, f"{path.name} uses {call}"
