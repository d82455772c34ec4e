"""Follow-up commands for `crm`: the roster (`crm consultant add | list | remove`).

A consultant exists when the roster says so (domain §8): register the team before contacts
name its members. The commands call follow-up's HTTP API with a manager token signed with
the stack's secret."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shared.auth import mint_token
from shared.events.enums import Role
from shared.settings import DEFAULT_PORTS

console = Console()
consultant = typer.Typer(help="the team roster (销售顾问): who may own customers and take work",
                         no_args_is_help=True)
URL = typer.Option(f"http://127.0.0.1:{DEFAULT_PORTS['followup']}", envvar="CRM_FOLLOWUP_URL",
                   help="follow-up service URL")
ROOT = typer.Option(Path(".crm"), help="stack folder (for the dev secret)")


def _headers(root: Path) -> dict[str, str]:
    from crm.stack import auth_secret

    token = mint_token(auth_secret(root.resolve()), Role.MANAGER, subject="crm-cli-manager")
    return {"Authorization": f"Bearer {token}"}


def _done(r: httpx.Response) -> dict:
    if r.status_code >= 400:
        console.print(f"[red]{r.status_code}: {r.text[:500]}")
        raise typer.Exit(1)
    return r.json()


@consultant.command("add")
def add(consultant_id: str, team: str | None = typer.Option(None, help="the consultant's team"),
        name: str | None = typer.Option(None, help="display name"),
        inactive: bool = typer.Option(False, "--inactive", help="on the roster but taking no new work"),
        url: str = URL, root: Path = ROOT) -> None:
    """Add a consultant, or change their team, name or activity (deactivating hands their work over)."""
    body = {"consultant_id": consultant_id, "team": team, "name": name, "active": not inactive}
    member = _done(httpx.post(f"{url}/v1/consultants", json={k: v for k, v in body.items() if v is not None},
                              headers=_headers(root), timeout=30))
    console.print(f"{member['consultant_id']}: team {member['team'] or '-'}, "
                  f"{'active' if member['active'] else 'inactive'}")


@consultant.command("list")
def list_(url: str = URL, root: Path = ROOT) -> None:
    """The roster with each member's pending and overdue work."""
    members, cursor = [], None
    while True:  # every page: the roster is paged like every list
        page = _done(httpx.get(f"{url}/v1/consultants", params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                               headers=_headers(root), timeout=30))
        members += page["consultants"]
        if not (cursor := page.get("next_cursor")):
            break
    table = Table(title="roster")
    for column in ("consultant", "team", "active", "source", "pending", "overdue"):
        table.add_column(column)
    for m in members:
        table.add_row(m["consultant_id"], m["team"] or "", "yes" if m["active"] else "no", m["source"],
                      str(m["pending"]), str(m["overdue"]))
    console.print(table)


@consultant.command("remove")
def remove(consultant_id: str, url: str = URL, root: Path = ROOT) -> None:
    """Take an entry off the roster (a wrong id): their customers and work are handed over first."""
    done = _done(httpx.delete(f"{url}/v1/consultants/{quote(consultant_id, safe='')}", headers=_headers(root),
                              timeout=60))
    console.print(f"removed {consultant_id}: {len(done['handed_over_customers'])} customers and "
                  f"{len(done['handed_over_tasks'])} more tasks handed over")


def register(app: typer.Typer) -> None:
    app.add_typer(consultant, name="consultant")
