"""Soak: a bounded mixed load (contacts, follow-ups, deals, complaints, reads) for a
few minutes on the embedded stack, with faults injected while it runs, ending with
a full consistency check between what clients were told was accepted and what
every service and projection holds. Exits non-zero if any check fails.

    .venv/bin/python -m bench.soak --minutes 4
"""
from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.table import Table

from .common import join_roster
from crm.stack import Stack, auth_secret, free_port
from shared.auth import mint_token
from shared.events.enums import Role
from shared.events.topics import CUSTOMER_TOPICS
from shared.settings import DEFAULT_PORTS

cli = typer.Typer(add_completion=False)
FAULTS = ("kill intake", "kill grading", "restart broker", "kill followup", "stop postgres", "kill analytics")


@dataclass
class Ledger:
    """What the clients were told was accepted."""

    contacts: dict[str, str] = field(default_factory=dict)  # customer -> contact
    completed: set[str] = field(default_factory=set)
    deals: dict[str, str] = field(default_factory=dict)  # deal -> customer
    complaints: dict[str, str] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)


class Load:
    def __init__(self, stack: Stack, client: httpx.AsyncClient, ledger: Ledger, seed: int) -> None:
        self.stack, self.client, self.ledger, self.rng = stack, client, ledger, random.Random(seed)
        self.headers = {"Authorization": f"Bearer {mint_token(auth_secret(stack.root), Role.MANAGER)}"}

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.services[service].url}{path}"

    async def send(self, kind: str, method: str, service: str, path: str, body: dict | None = None) -> dict | None:
        """Retry with the same Idempotency-Key until a definite answer: at-least-once from the client."""
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        for _ in range(200):
            try:
                r = await self.client.request(method, self.url(service, path), json=body, headers=headers)
            except httpx.HTTPError:
                self.ledger.outcomes[f"{kind}: retried (connection)"] += 1
                await asyncio.sleep(0.25)
                continue
            if r.status_code in (502, 503):
                self.ledger.outcomes[f"{kind}: retried (503)"] += 1
                await asyncio.sleep(0.25)
                continue
            if r.status_code >= 500:
                self.ledger.outcomes[f"{kind}: 500"] += 1
                return None
            self.ledger.outcomes[f"{kind}: {r.status_code}"] += 1
            return r.json() if r.status_code < 300 else None
        return None

    def some_customer(self) -> str | None:
        return self.rng.choice(list(self.ledger.contacts)) if self.ledger.contacts else None

    async def contact(self) -> None:
        body = {"channel": self.rng.choice(["walk_in", "phone", "web_form"]), "name": "Soak",
                "phone": f"+86137{self.rng.randrange(10**8):08d}", "consultant_id": f"c-{self.rng.randrange(5):03d}",
                "purchase_timeframe": self.rng.choice(["within_7_days", "within_1_month", "1_to_3_months"])}
        done = await self.send("contact", "POST", "intake", "/v1/contacts", body)
        if done:
            self.ledger.contacts[done["customer_id"]] = done["contact_id"]

    async def follow_up(self) -> None:
        customer = self.some_customer()
        if not customer:
            return
        tasks = await self.send("read tasks", "GET", "followup", f"/v1/tasks?customer_id={customer}")
        pending = [t for t in (tasks or {}).get("tasks", []) if t.get("status") in ("open", "overdue")]
        if pending:
            task = pending[0]["task_id"]
            body = {"method": "phone", "outcome": self.rng.choice(["reached", "no_answer", "visited"]),
                    "test_drive": self.rng.random() < 0.3}
            if await self.send("follow-up", "POST", "followup", f"/v1/tasks/{task}/complete", body):
                self.ledger.completed.add(task)

    async def deal(self) -> None:
        customer = self.some_customer()
        if not customer:
            return
        price = self.rng.randrange(80_000, 300_000, 1000)
        body = {"customer_id": customer, "consultant_id": "c-000", "amount": price, "deposit": 5000,
                "items": [{"product": "sedan", "quantity": 1, "unit_price": price}],
                "gross_profit": self.rng.randrange(1000, 20000), "closed_on": datetime.now(UTC).date().isoformat()}
        done = await self.send("deal", "POST", "followup", "/v1/deals", body)
        if done:
            self.ledger.deals[done["deal"]["deal_id"]] = customer

    async def complaint(self) -> None:
        customer = self.some_customer()
        if not customer:
            return
        body = {"customer_id": customer, "channel": "phone", "severity": self.rng.choice(["low", "medium", "high"]),
                "description": "soak complaint"}
        done = await self.send("complaint", "POST", "intake", "/v1/complaints", body)
        if done:
            self.ledger.complaints[done["complaint_id"]] = customer

    async def read(self) -> None:
        customer = self.some_customer()
        if customer:
            await self.send("read 360", "GET", "analytics", f"/v1/customers/{customer}/360")

    async def run(self, seconds: float, per_second: float) -> None:
        actions = [self.contact] * 5 + [self.follow_up] * 3 + [self.deal, self.complaint] + [self.read] * 3
        deadline, running = time.monotonic() + seconds, set()
        while time.monotonic() < deadline:
            running.add(asyncio.create_task(self.rng.choice(actions)()))
            running = {t for t in running if not t.done()}
            await asyncio.sleep(1 / per_second)
        await asyncio.gather(*running)


async def inject_faults(stack: Stack, ledger: Ledger, seconds: float) -> None:
    interval = seconds / (len(FAULTS) + 1)
    for fault in FAULTS:
        await asyncio.sleep(interval)
        ledger.faults.append(fault)
        kind, target = fault.split()
        if kind == "kill":
            stack.services[target].kill()
            await asyncio.sleep(1)
            stack.services[target].start()
            await asyncio.to_thread(stack.services[target].wait_ready, 90)
        elif target == "broker":
            await asyncio.to_thread(stack.restart_broker)
        else:
            await asyncio.to_thread(stack.postgres.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(stack.postgres.start)


async def consistency(stack: Stack, ledger: Ledger, timeout: float = 300) -> list[tuple[str, bool, str]]:
    """Wait for the pipeline to settle, then compare the ledger with every store."""
    dbs = {n: await asyncpg.connect(s.env["CRM_DATABASE_URL"]) for n, s in stack.services.items()}
    customers = [uuid.UUID(c) for c in ledger.contacts]
    try:
        deadline = time.monotonic() + timeout
        while True:
            produced, kinds = set(), {}
            for name in ("intake", "grading", "followup"):
                rows = await dbs[name].fetch(  # the customers' events: what analytics logs (not the roster's)
                    "select event_id, event_type from event_store where event_type = any($1::text[])",
                    sorted(CUSTOMER_TOPICS))
                produced |= {r[0] for r in rows}
                kinds.update({r[0]: f"{name}/{r[1]}" for r in rows})
            logged = [r[0] for r in await dbs["analytics"].fetch("select event_id from event_log")]
            backlog = sum([await dbs[n].fetchval("select count(*) from outbox_pending")
                           for n in dbs])
            # every logged customer event folded into its customer's row (the folder, after the consumer)
            unfolded = await dbs["analytics"].fetchval(
                """select (select count(*) from event_log where event_type = any($1::text[]))
                          - (select coalesce(sum(own_events), 0) from customer_facts)""", sorted(CUSTOMER_TOPICS))
            if (produced <= set(logged) and backlog == 0 and unfolded == 0) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        graded = await dbs["grading"].fetchval("select count(*) from prospects where customer_id = any($1)",
                                               customers)
        contacts = await dbs["intake"].fetch("select contact_id from contacts where customer_id = any($1)", customers)
        deals = await dbs["followup"].fetch("select deal_id from deals where deal_id = any($1)",
                                            [uuid.UUID(d) for d in ledger.deals])
        cases = await dbs["followup"].fetchval("select count(*) from complaint_cases where complaint_id = any($1)",
                                               [uuid.UUID(c) for c in ledger.complaints])
        done = await dbs["followup"].fetchval(
            "select count(*) from tasks where task_id = any($1) and status = 'done'",
            [uuid.UUID(t) for t in ledger.completed])
        letters = sum([await dbs[n].fetchval("select count(*) from event_store where event_type = 'dead-letters'")
                       for n in dbs])
        summary = await dbs["analytics"].fetchval("select count(*) from customer_summary where customer_id = any($1)",
                                                  customers)
    finally:
        for conn in dbs.values():
            await conn.close()
    contact_ids = {str(r[0]) for r in contacts}
    return [
        ("every accepted contact stored once", set(ledger.contacts.values()) <= contact_ids,
         f"{len(ledger.contacts)} accepted, {len(contact_ids)} stored for those customers"),
        ("every contacted customer graded", graded == len(customers), f"{graded}/{len(customers)}"),
        ("every accepted deal stored once", len(deals) == len(ledger.deals), f"{len(deals)}/{len(ledger.deals)}"),
        ("every complaint has a case", cases == len(ledger.complaints), f"{cases}/{len(ledger.complaints)}"),
        ("every completed task is done", done == len(ledger.completed), f"{done}/{len(ledger.completed)}"),
        ("analytics holds every customer event produced, exactly once",
         produced <= set(logged) and len(logged) == len(set(logged)),
         f"{len(produced)} produced, {len(set(logged))} in analytics, {len(logged) - len(set(logged))} doubled"
         + (f"; missing: {dict(Counter(kinds[e] for e in produced - set(logged)))}" if produced - set(logged) else "")),
        ("analytics folded every event it logged", unfolded == 0, f"{unfolded} logged, not folded"),
        ("every customer in the analytics projection", summary == len(customers), f"{summary}/{len(customers)}"),
        ("outboxes drained", backlog == 0, f"{backlog} unpublished"),
        ("no dead letters under a clean load", letters == 0, f"{letters}"),
        ("no 500 answered", not any(k.endswith(": 500") for k in ledger.outcomes),
         str(sum(v for k, v in ledger.outcomes.items() if k.endswith(": 500")))),
    ]


@cli.command()
def main(minutes: float = 4.0, per_second: float = 15.0, seed: int = 1) -> None:
    """Run the soak on a fresh embedded stack and print the outcome."""
    ok = asyncio.run(_main(minutes * 60, per_second, seed))
    raise typer.Exit(0 if ok else 1)


async def _main(seconds: float, per_second: float, seed: int) -> bool:
    ledger = Ledger()
    with tempfile.TemporaryDirectory(prefix="crm-soak-") as tmp:
        stack = Stack(Path(tmp), kafka_port=free_port(), ports={n: free_port() for n in DEFAULT_PORTS},
                      extra_env={"CRM_BROKER_CHECK_SECONDS": "2"})
        await asyncio.to_thread(stack.start)
        try:
            await join_roster(stack, [f"c-{i:03d}" for i in range(5)])  # the load names c-000 .. c-004
            async with httpx.AsyncClient(timeout=30) as client:
                load = Load(stack, client, ledger, seed)
                await asyncio.gather(load.run(seconds, per_second), inject_faults(stack, ledger, seconds))
            checks = await consistency(stack, ledger)
        finally:
            await asyncio.to_thread(stack.stop)
    console = Console()
    requests = Table(title=f"soak: {seconds / 60:.1f} min, faults: {', '.join(ledger.faults)}")
    requests.add_column("request: answer")
    requests.add_column("count", justify="right")
    for key, n in sorted(ledger.outcomes.items()):
        requests.add_row(key, str(n))
    console.print(requests)
    result = Table(title="consistency")
    for col in ("check", "holds", "detail"):
        result.add_column(col)
    for name, holds, detail in checks:
        result.add_row(name, "yes" if holds else "NO", detail)
    console.print(result)
    return all(holds for _, holds, _ in checks)


if __name__ == "__main__":
    cli()
