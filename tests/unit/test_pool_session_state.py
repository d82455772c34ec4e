"""A service whose pool releases connections without asyncpg's reset query (`pool_keeps_session`,
shared.runtime.db.keep_session) must take no session state on them: no session-level advisory
lock, LISTEN, plain SET or open cursor. This reads the code every such service runs on its pool."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION_STATE = re.compile(
    r"""pg_(try_)?advisory_lock\(|pg_advisory_unlock\(|add_listener|["']\s*LISTEN\b|\.cursor\(|"""
    r"""execute\(\s*f?["']+\s*set\s+(?!local\b)""", re.IGNORECASE)
# The relay takes its leader lock and LISTENs on a connection of its own (asyncpg.connect), not
# on the service's pool.
OWN_CONNECTION = {ROOT / "shared" / "runtime" / "relay.py"}


def keeping_services() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/app.py")
                  if "pool_keeps_session=True" in p.read_text())


def code_of(package: Path) -> list[Path]:
    return [p for p in package.rglob("*.py")
            if "tests" not in p.parts and "migrations" not in p.parts and p not in OWN_CONNECTION]


def test_the_services_that_keep_sessions_are_the_ones_that_can():
    assert keeping_services() == ["followup", "grading", "intake"]


def test_no_code_on_a_kept_session_takes_session_state():
    packages = [ROOT / "services" / s for s in keeping_services()] + [ROOT / "shared"]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)!r}" for package in packages for p in code_of(package)
             for m in SESSION_STATE.finditer(p.read_text())]
    assert found == []


def test_the_check_finds_what_it_looks_for():
    for line in ('await conn.execute("set statement_timeout = 5")', "select pg_advisory_lock(1)",
                 "await conn.add_listener('x', f)", "conn.cursor(q)", 'execute("LISTEN x")'):
        assert SESSION_STATE.search(line), line
    for line in ('await conn.execute("set local plan_cache_mode = force_custom_plan")',
                 "select pg_advisory_xact_lock(1)", "update prospects set grade = $1"):
        assert not SESSION_STATE.search(line), line
