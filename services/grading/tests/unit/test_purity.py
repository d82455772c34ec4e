"""The domain package is pure: no framework, database or broker imports, no I/O."""
import ast
from pathlib import Path

import services.grading.domain as domain

FORBIDDEN = {"fastapi", "asyncpg", "aiokafka", "sqlalchemy", "starlette", "httpx", "requests", "psycopg",
             "socket", "subprocess", "os", "asyncio", "logging", "structlog"}


def test_domain_imports_nothing_impure():
    root = Path(domain.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_domain_does_not_open_files_or_read_the_clock():
    root = Path(domain.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        for call in ("open(", "datetime.now", "date.today", "time.time", "uuid4("):
            assert call not in text, f"{path.name} uses {call}"
