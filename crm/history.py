"""`crm import-history`: customers, deals and payments of an earlier system into the running CRM.

A thin client of the public APIs, like `crm import`: intake takes the customers
(`POST /v1/contacts/batch`, deduplicated by phone and email), follow-up the deals and payments
(`POST /v1/deals/batch`, `POST /v1/payments/batch`). Records dated before the cut-off (default:
when the import started) are history: they set value, lifecycle and reports and create no work
for the past (domain §8).

Safe to re-run: customers are unique by (import batch, row); each chunk of deals or payments
carries an Idempotency-Key made from the file's digest and the chunk, so a chunk already taken
in answers with its first result (and its ids) instead of recording twice. A chunk the API
refuses names its bad rows; those go to the rejected-rows file with their original cells and
the reason, and the rest of the chunk is sent again.
"""
from __future__ import annotations

import csv
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, datetime
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from services.intake.cli import ImportAborted, file_digest, post_batch, refused_rows
from services.intake.domain.cards_import import ImportFileError
from shared.auth import mint_token
from shared.business_time import business_instant, is_history
from shared.events.enums import Role

from .history_files import Rejected, Row, read_customers, read_deals, read_payments

console = Console(stderr=True)


class RejectionFile:
    """One `<file>.rejected.csv` per input: the original header and cells, then field and reason."""

    def __init__(self, source: Path, header: tuple[str, ...]) -> None:
        self.path = source.with_name(source.name + ".rejected.csv")
        self.out = open(self.path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.out)
        self.writer.writerow(["row", *header, "rejected_field", "reason"])
        self.count: Counter[str] = Counter()

    def add(self, row: int, cells: tuple[str, ...], field: str, reason: str) -> None:
        self.writer.writerow([row, *cells, field, reason])
        self.count[field or "row"] += 1

    def close(self) -> None:
        self.out.close()


def send_chunks(client: httpx.Client, url: str, list_name: str, rows: list[Row], key: str, chunk: int,
                rejected: RejectionFile, progress, task, extra: dict | None = None,
                parallel: int = 2) -> list[tuple[Row, dict]]:
    """Post rows in chunks, `parallel` of them in flight (while the server stores one, the next is on
    its way); returns (row, the API's result for it) for every row taken in, in the rows' order."""
    def send(start: int) -> tuple[list[tuple[Row, dict]], list[tuple[Row, str, str]]]:
        part, refused = rows[start:start + chunk], []
        while part:
            response = post_batch(client, url, {list_name: [r.body for r in part], **(extra or {})},
                                  {"Idempotency-Key": f"{key}-{start}-{len(part)}"})
            if response.status_code == 201:
                results = response.json().get("results") or response.json()[list_name]
                return list(zip(part, results, strict=True)), refused
            bad = refused_rows(response, list_name, len(part))
            refused += [(part[index], field, reason) for index, (field, reason) in bad.items()]
            part = [r for i, r in enumerate(part) if i not in bad]
        return [], refused

    taken: dict[int, list[tuple[Row, dict]]] = {}
    with ThreadPoolExecutor(parallel, thread_name_prefix="import-history") as pool:
        futures = {pool.submit(send, start): start for start in range(0, len(rows), chunk)}
        try:
            for future in as_completed(futures):
                ok, refused = future.result()
                for row, field, reason in refused:
                    rejected.add(row.row, row.cells, field, reason)
                taken[futures[future]] = ok
                progress.advance(task, len(ok) + len(refused))
        except BaseException:  # the first failure stops the import (ImportAborted): send nothing more
            for future in futures:
                future.cancel()
            raise
    return [pair for start in sorted(taken) for pair in taken[start]]


def _token(token: str | None, root: Path) -> str:
    if token:
        return token
    from .stack import auth_secret

    return mint_token(auth_secret(root.resolve()), Role.INTEGRATION, subject="crm-import-history")


def _read(reader, path: Path, *args) -> tuple[tuple[str, ...], list[Row], list[Rejected]]:
    try:
        header, results = reader(path, *args)
    except ImportFileError as exc:
        console.print(f"[red]cannot import {path}: {exc.field}: {exc.message}[/red] (nothing was imported)")
        raise typer.Exit(2) from None
    return header, [r for r in results if isinstance(r, Row)], [r for r in results if isinstance(r, Rejected)]


def import_history_command(
    customers: Path = typer.Option(..., exists=True, dir_okay=False, help="customers (.csv or .xlsx)"),
    deals: Path | None = typer.Option(None, exists=True, dir_okay=False, help="deals (.csv or .xlsx)"),
    payments: Path | None = typer.Option(None, exists=True, dir_okay=False, help="payments (.csv or .xlsx)"),
    historical_before: datetime | None = typer.Option(
        None, help="records dated before this day are history (default: today, the day the import starts; "
                   "give the first run's day when re-running on a later day)"),
    intake_url: str = typer.Option("http://127.0.0.1:8001", envvar="CRM_INTAKE_URL"),
    followup_url: str = typer.Option("http://127.0.0.1:8003", envvar="CRM_FOLLOWUP_URL"),
    token: str | None = typer.Option(None, envvar="CRM_TOKEN", help="bearer token (default: minted, stack secret)"),
    root: Path = typer.Option(Path(".crm"), help="stack folder holding the dev secret"),
    chunk: int = typer.Option(500, min=1, max=1000, help="rows per request / transaction"),
    parallel: int = typer.Option(2, min=1, max=8, help="chunks in flight at once"),
) -> None:
    """Take over an earlier system's customers, deals and payments (history creates no work for the past)."""
    # Only the cut-off's business day counts (a deal is dated by its day): the start of today keeps a
    # re-run on the same day byte-identical, so its chunks replay instead of recording twice.
    cutoff = (historical_before or datetime.now().astimezone().replace(hour=0, minute=0, second=0,
                                                                      microsecond=0)).astimezone()
    batch = f"history-{file_digest(customers)}"
    inputs = [("customers", customers, _read(read_customers, customers, batch))]
    if deals:
        inputs.append(("deals", deals, _read(read_deals, deals)))
    if payments:
        inputs.append(("payments", payments, _read(read_payments, payments)))
    files = {name: RejectionFile(path, header) for name, path, (header, _, _) in inputs}
    for name, _, (_, _, rejected) in inputs:
        for r in rejected:
            files[name].add(r.row, r.cells, r.field, r.reason)
    rows = {name: good for name, _, (_, good, _) in inputs}
    auth = {"Authorization": f"Bearer {_token(token, root)}"}
    tally: dict[str, int] = {}
    try:
        with httpx.Client(headers=auth, timeout=300) as client, \
                Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                         console=console) as progress:
            tasks = {name: progress.add_task(name, total=len(r) + files[name].count.total())
                     for name, r in rows.items()}
            for name in tasks:
                progress.advance(tasks[name], files[name].count.total())
            taken = send_chunks(client, f"{intake_url}/v1/contacts/batch", "contacts",
                                dated_by_first_deal(rows["customers"], rows.get("deals", []), cutoff), batch, chunk,
                                files["customers"], progress, tasks["customers"],
                                {"historical_before": cutoff.isoformat()}, parallel)
            customer_ids = {row.ref: result["customer_id"] for row, result in taken}
            tally["customers"] = len(taken)
            tally["new customers"] = sum(1 for _, r in taken if r.get("is_new_customer") and not r.get("duplicate"))
            deal_ids = _deals(client, followup_url, rows.get("deals", []), customer_ids, cutoff, files, progress,
                              tasks, batch, chunk, tally, parallel)
            _payments(client, followup_url, rows.get("payments", []), deal_ids, files, progress, tasks, batch,
                      chunk, tally)
    except ImportAborted as exc:
        console.print(f"[red]import stopped: {exc}[/red]\nre-run the same command to continue "
                      "(what was taken in is not taken in twice)")
        raise typer.Exit(1) from None
    finally:
        for f in files.values():
            f.close()
    _summary(tally, files)


def dated_by_first_deal(customers: list[Row], deals: list[Row], cutoff: datetime) -> list[Row]:
    """Customers whose row carries no date, dated by their first deal's day when that day is history:
    a buyer of the earlier system was known to it by that day at the latest. Intake marks such a
    contact as history, so it makes no first contact for a customer who has been buying for years.
    A customer without a deal before the cut-off stays undated: taken in today, followed up from now
    on. The date is the end of that business day, the same on every re-run (one Idempotency-Key, one
    body)."""
    first: dict[str, date] = {}
    for deal in deals:
        try:
            day = date.fromisoformat(deal.body["closed_on"])
        except (KeyError, ValueError):
            continue  # the API names the bad date in its answer to the deals
        ref = deal.parent_ref
        if ref and is_history(day, cutoff) and (ref not in first or day < first[ref]):
            first[ref] = day
    return [Row(c.row, c.cells, {**c.body, "occurred_at": business_instant(first[c.ref], cutoff).isoformat()},
                c.ref, c.parent_ref) if c.ref in first and "occurred_at" not in c.body else c for c in customers]


def _linked(rows: list[Row], ids: dict[str, str], ref_name: str, id_name: str, rejected: RejectionFile,
            advance) -> list[Row]:
    """The rows whose parent (a deal's customer, a payment's deal) was taken in, with its id filled in."""
    ready = []
    for row in rows:
        if row.parent_ref not in ids:
            rejected.add(row.row, row.cells, ref_name, f"no such {ref_name.removesuffix('_ref')} taken in")
            advance()
            continue
        ready.append(Row(row.row, row.cells, {**row.body, id_name: ids[row.parent_ref]}, row.ref))
    return ready


def _deals(client, url, rows, customer_ids, cutoff, files, progress, tasks, batch, chunk, tally,
           parallel) -> dict[str, str]:
    ready = _linked(rows, customer_ids, "customer_ref", "customer_id", files.get("deals"),
                    lambda: progress.advance(tasks["deals"]))
    if not ready:
        return {}
    taken = send_chunks(client, f"{url}/v1/deals/batch", "deals", ready, f"{batch}-deals", chunk, files["deals"],
                        progress, tasks["deals"], {"historical_before": cutoff.isoformat()}, parallel)
    tally["deals"] = len(taken)
    tally["  of which history"] = sum(1 for _, r in taken if r["historical"])
    return {row.ref: result["deal"]["deal_id"] for row, result in taken if row.ref}


def _payments(client, url, rows, deal_ids, files, progress, tasks, batch, chunk, tally) -> None:
    # one chunk at a time, whatever --parallel: a deal's payments are checked in the file's order, each
    # against the balance the earlier ones left, and one deal's payments may span two chunks
    ready = _linked(rows, deal_ids, "deal_ref", "deal_id", files.get("payments"),
                    lambda: progress.advance(tasks["payments"]))
    if not ready:
        return
    taken = send_chunks(client, f"{url}/v1/payments/batch", "payments", ready, f"{batch}-payments", chunk,
                        files["payments"], progress, tasks["payments"], parallel=1)
    tally["payments"] = len(taken)


def _summary(tally: dict[str, int], files: dict[str, RejectionFile]) -> None:
    table = Table(title="history import")
    table.add_column("")
    table.add_column("rows", justify="right")
    for name, n in tally.items():
        table.add_row(f"{name} taken in", str(n))
    for name, f in files.items():
        table.add_row(f"{name} rejected", str(f.count.total()))
    console.print(table)
    for f in files.values():
        console.print(f"rejected rows: {f.path}")
    typer.echo(" ".join(f"{k.strip().replace(' ', '_')}={v}" for k, v in tally.items()) + " " +
               " ".join(f"{k}_rejected={f.count.total()}" for k, f in files.items()))
