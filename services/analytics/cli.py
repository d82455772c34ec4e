"""Analytics commands for `crm`: `crm replay` and `crm demo`."""
from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.auth import mint_token
from shared.events.enums import Role
from shared.settings import DEFAULT_PORTS

console = Console()
progress_console = Console(stderr=True)  # progress bars: stdout carries only results


def _token(root: Path, role: Role = Role.MANAGER) -> str:
    from crm.stack import auth_secret

    return mint_token(auth_secret(root.resolve()), role, subject=f"crm-cli-{role.value}")


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=progress_console)


def replay(
    database_url: str | None = typer.Option(None, envvar="CRM_ANALYTICS_DATABASE_URL",
                                            help="analytics database; rebuild directly with a progress bar"),
    url: str = typer.Option(f"http://127.0.0.1:{DEFAULT_PORTS['analytics']}", help="analytics service URL"),
    root: Path = typer.Option(Path(".crm"), help="stack folder (for the dev secret)"),
) -> None:
    """Drop and rebuild the analytics projections from the event log (old ones serve until the swap)."""
    if database_url:
        from shared.runtime.db import create_pool

        from .replay import rebuild

        async def direct() -> dict:
            pool = await create_pool(database_url, min_size=1, max_size=2)
            try:
                with _progress() as bar:
                    task = bar.add_task("rebuilding customer projections", total=None)
                    return await rebuild(pool, progress=lambda done, total: bar.update(task, completed=done,
                                                                                         total=total),
                                         database_url=database_url)
            finally:
                await pool.close()

        result = asyncio.run(direct())
    else:
        with _progress() as bar:
            bar.add_task(f"POST {url}/v1/admin/replay", total=None)
            r = httpx.post(f"{url}/v1/admin/replay", headers={"Authorization": f"Bearer {_token(root, Role.OPS)}"},
                           timeout=3600)
        if r.status_code != 200:
            console.print(f"[red]replay failed: {r.status_code} {r.text}")
            raise typer.Exit(1)
        result = r.json()
    console.print(f"rebuilt {result['customers']} customers from {result['events']} events "
                  f"in {result['seconds']} s ({result['caught_up']} caught up during the swap)")


def demo(
    customers: int = typer.Option(120, min=1, max=5000, help="how many prospects to generate"),
    days: int = typer.Option(120, min=1, max=1000, help="how many days of history, ending the day before UNTIL"),
    seed: int = typer.Option(2026, help="random seed (same seed, same history)"),
    until: datetime | None = typer.Option(None, formats=["%Y-%m-%d"],
                                          help="the period's last day (default today); a re-run with the same "
                                               "seed and UNTIL creates nothing"),
    host: str = typer.Option("127.0.0.1", help="where the services listen"),
    root: Path = typer.Option(Path(".crm"), help="stack folder (for the dev secret)"),
    as_json: bool = typer.Option(False, "--json", help="print the step summary as JSON on stdout (nothing else)"),
) -> None:
    """Generate a dealership's history through the services' public HTTP APIs."""
    from .demo import run_demo

    urls = {n: os.environ.get(f"CRM_{n.upper()}_URL", f"http://{host}:{p}") for n, p in DEFAULT_PORTS.items()}
    with _progress() as bar:  # on stderr: stdout carries only the summary
        task = bar.add_task("generating the dealership history", total=customers + 4)
        summary = asyncio.run(run_demo(urls, _token(root), customers=customers, days=days, seed=seed,
                                       until=until.date() if until else None,
                                       progress=lambda d, t: bar.update(task, completed=d, total=t)))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"demo: {summary['customers']} customers, {summary['period']['from']} to "
                        f"{summary['period']['until']}")
    for col in ("step", "ok", "failed", "note"):
        table.add_column(col)
    for name, s in summary["steps"].items():
        note = "skipped: endpoint not served yet" if s["unavailable"] else (s["first_error"] or "")
        table.add_row(name, str(s["ok"]), str(s["failed"]), note[:90])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(replay)
    app.command()(demo)
