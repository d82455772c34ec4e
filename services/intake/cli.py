"""`crm import FILE`: business cards (CSV or Excel) into the running intake service.

Why over HTTP and not straight into the database: intake owns its database and
its outbox; the API already does validation, identity resolution, the events
and the audit, with auth. The CLI stays a thin client and works the same
against `crm up` and a production deployment.

How it stays safe and bounded:

- pass 1 reads the whole file (streaming, the rows counted but the cards not
  yet validated: that is pass 2's work, done once) and refuses a broken file
  before anything is sent; pass 2 reads it again and sends accepted rows in chunks
  (500 by default) to `POST /v1/contacts/batch`, one transaction per chunk,
  two chunks in flight by default (`--parallel`): while intake stores one, the
  next is on its way, so neither side waits on the other;
- memory holds one chunk plus an 8-byte digest per identity key (the file's
  own dedup, in ``domain.cards_import``): 100,000 rows are fine;
- every row carries the import batch (by default a digest of the file) and its
  row number, which the server keeps unique: re-running the same file, after a
  failure or not, creates nothing twice and reports the rows as duplicates;
- rejected rows (bad required fields, duplicates within the file, rows the
  server refuses) go to `FILE.rejected.csv`: the row number, every cell of the
  row as read, the field and the reason, so a person can correct and re-import
  them; a bad optional field (an email when the phone is good) is left out and
  the card imported without it, listed in `FILE.warnings.csv` the same way.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shared import csv_cells
from shared.auth import mint_token
from shared.events.enums import Channel, Role

from .domain.cards_import import (
    DUPLICATE_OF_ROW,
    FieldDropped,
    ImportFileError,
    RowRejection,
    count_cards,
    import_cards,
)
from .domain.contacts import ContactIn

console = Console(stderr=True)


class ImportChannel(StrEnum):
    BULK_IMPORT = "bulk_import"
    EXHIBITION = "exhibition"


@dataclass
class Tally:
    rows: int = 0
    created: int = 0
    new_customers: int = 0
    duplicates: int = 0  # rows taken in by an earlier run of the same import (skipped)
    file_duplicates: int = 0  # rows repeating an earlier row's phone or email in the file (the first is kept)
    rejected: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)  # bad optional fields left out (cards kept)


class Importer:
    """Sends chunks (from several threads); writes the rejection report; counts."""

    def __init__(self, client: httpx.Client, report: csv_cells.NeutralWriter, chunk: int, parallel: int = 1,
                 warnings: csv_cells.NeutralWriter | None = None, width: int = 0) -> None:
        self.client, self.report, self.chunk, self.tally = client, report, chunk, Tally()
        self.parallel, self._lock, self.warnings, self.width = parallel, threading.Lock(), warnings, width
        self._cells: dict[int, tuple[str, ...]] = {}  # row -> cells as read, while the row's chunk is unanswered

    def keep(self, row: int, cells: tuple[str, ...]) -> None:
        """The cells of a card about to be sent, kept until its chunk's answer is known (so a row the
        server refuses is reported as read): at most the chunks in flight plus the one being filled."""
        with self._lock:
            self._cells[row] = cells

    def _release(self, rows: list[ContactIn]) -> None:
        with self._lock:
            for r in rows:
                self._cells.pop(r.source_row or 0, None)

    def _line(self, row: int, cells: tuple[str, ...], fieldname: str, reason: str) -> list:
        return [row, *cells, *[""] * (self.width - len(cells)), fieldname, reason]

    def reject(self, row: int, fieldname: str, reason: str, cells: tuple[str, ...] = ()) -> None:
        """Into the report with the row's cells; counted as a duplicate within the file or as a
        rejection by its field."""
        with self._lock:
            self.report.writerow(self._line(row, cells, fieldname, reason))
            if reason.startswith(DUPLICATE_OF_ROW):
                self.tally.file_duplicates += 1
            else:
                self.tally.rejected[fieldname or "row"] += 1

    def drop(self, dropped: FieldDropped) -> None:
        """A bad optional field left out of a card that is still imported: into the warnings file."""
        with self._lock:
            if self.warnings is not None:
                self.warnings.writerow(self._line(dropped.row_number, dropped.cells, dropped.field, dropped.reason))
            self.tally.dropped[dropped.field] += 1

    def send(self, rows: list[ContactIn]) -> None:
        """One chunk; rows the server refuses are reported with their cells and the rest sent again."""
        chunk = rows
        try:
            while rows:
                response = post_batch(self.client, "/v1/contacts/batch", chunk_body(rows))
                if response.status_code == 201:
                    body = response.json()
                    with self._lock:
                        self.tally.created += body["accepted"]
                        self.tally.new_customers += body["new_customers"]
                        self.tally.duplicates += body["duplicates"]
                    return
                bad = refused_rows(response, "contacts", len(rows))
                for index, (fieldname, reason) in bad.items():
                    row = rows[index].source_row or 0
                    with self._lock:
                        cells = self._cells.get(row, ())
                    self.reject(row, fieldname, reason, cells)
                rows = [r for i, r in enumerate(rows) if i not in bad]
        finally:
            self._release(chunk)


_CARDS = TypeAdapter(list[ContactIn])


def chunk_body(rows: list[ContactIn]) -> bytes:
    """The body of `POST /v1/contacts/batch` for these cards: their JSON (unset fields left out)
    written by pydantic-core in one call."""
    return b'{"contacts":' + _CARDS.dump_json(rows, exclude_none=True) + b"}"


def post_batch(client: httpx.Client, path: str, body: dict | bytes, headers: dict | None = None,
               attempts: int = 5) -> httpx.Response:
    """POST a batch (a dict, or its JSON already encoded); a transport error or a 5xx is tried again
    with backoff, a 201 or a 422 (rows to report) is the answer, anything else stops the import."""
    error = "not tried"
    if isinstance(body, bytes):
        content, headers = {"content": body}, {**(headers or {}), "Content-Type": "application/json"}
    else:
        content = {"json": body}
    for attempt in range(attempts):
        try:
            response = client.post(path, headers=headers, **content)
        except httpx.TransportError as exc:
            error = f"{path} not reachable ({exc})"
        else:
            if response.status_code in (201, 422):
                return response
            error = f"{path} answered {response.status_code}: {response.text[:300]}"
            if response.status_code < 500:
                break
        time.sleep(min(2 ** attempt * 0.2, 3))
    raise ImportAborted(error)


class ImportAborted(Exception):
    importer: Importer | None = None  # set by `import_file`: what was done before it stopped


def refused_rows(response: httpx.Response, list_name: str, n: int) -> dict[int, tuple[str, str]]:
    """Row index -> (field, reason) from a 422 problem's `errors` (`contacts[3].phone`)."""
    row_field = re.compile(rf"{re.escape(list_name)}\[(\d+)\](?:\.(.*))?")
    bad: dict[int, tuple[str, str]] = {}
    for err in response.json().get("errors") or []:
        match = row_field.fullmatch(str(err.get("field", "")))
        if match and int(match[1]) < n:
            bad.setdefault(int(match[1]), (match[2] or "", err.get("message", "")))
    if not bad:
        raise ImportAborted(f"{response.request.url.path} refused the chunk: {response.text[:300]}")
    return bad


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _token(token: str | None, root: Path) -> str:
    if token:
        return token
    from crm.stack import auth_secret

    return mint_token(auth_secret(root.resolve()), Role.INTEGRATION, subject="crm-import")


def _results(file: Path, batch: str, channel: ImportChannel, campaign: str | None, on_dropped=None,
             on_header=None, on_accepted=None) -> Iterator:
    return import_cards(file, import_batch=batch, channel=Channel(channel.value), campaign=campaign,
                        on_dropped=on_dropped or (lambda _: None), on_header=on_header, on_accepted=on_accepted)


@dataclass
class ImportPlan:
    """One import: the file, how its rows are tagged, and where the two reports go."""

    file: Path
    batch: str
    channel: ImportChannel
    campaign: str | None
    report: Path
    warnings: Path
    chunk: int = 500
    parallel: int = 2

    def count_rows(self) -> tuple[int, tuple[str, ...]]:
        """Pass 1: the data rows and the header's cells (ImportFileError: a file that cannot be imported)."""
        header: list[tuple[str, ...]] = []
        total = count_cards(self.file, channel=Channel(self.channel.value), campaign=self.campaign,
                            on_header=header.append)
        return total, header[0] if header else ()


def import_file(client: httpx.Client, plan: ImportPlan, total: int, columns: tuple[str, ...]) -> Importer:
    """Pass 2: every card of the file to intake through `client`; rejected rows and dropped fields
    are written with their cells as read. ImportAborted carries the importer (its tally) as `importer`."""
    with open(plan.report, "w", newline="", encoding="utf-8") as out, \
            open(plan.warnings, "w", newline="", encoding="utf-8") as warned:
        writer = csv_cells.writer(out)  # opened in a spreadsheet: no cell runs as a formula
        writer.writerow(["row", *columns, "rejected_field", "reason"])
        warning_writer = csv_cells.writer(warned)
        warning_writer.writerow(["row", *columns, "dropped_field", "reason"])
        importer = Importer(client, writer, plan.chunk, plan.parallel, warning_writer, len(columns))
        results = _results(plan.file, plan.batch, plan.channel, plan.campaign, on_dropped=importer.drop,
                           on_accepted=importer.keep)
        try:
            _run(importer, results, total)
        except ImportAborted as exc:
            exc.importer = importer
            raise
    return importer


def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="a .csv or .xlsx file"),
    url: str = typer.Option("http://127.0.0.1:8001", envvar="CRM_INTAKE_URL", help="the intake service"),
    token: str | None = typer.Option(None, envvar="CRM_TOKEN", help="bearer token (default: minted, stack secret)"),
    root: Path = typer.Option(Path(".crm"), help="stack folder holding the dev secret"),
    channel: ImportChannel = typer.Option(ImportChannel.BULK_IMPORT),
    campaign: str | None = typer.Option(None, help="campaign / exhibition name (required for exhibition)"),
    batch: str | None = typer.Option(None, help="import batch id (default: digest of the file; re-runs skip rows)"),
    report: Path | None = typer.Option(None, help="rejected rows with their cells (default: FILE.rejected.csv)"),
    warnings: Path | None = typer.Option(None, help="cards imported without a bad optional field, with their "
                                                    "cells (default: FILE.warnings.csv)"),
    chunk: int = typer.Option(500, min=1, max=1000, help="rows per request / transaction"),
    parallel: int = typer.Option(2, min=1, max=8, help="chunks in flight at once"),
) -> None:
    """Import business cards (CSV or Excel) as contacts, with dedup and a rejection report."""
    plan = ImportPlan(file, batch or f"cards-{file_digest(file)}", channel, campaign,
                      report or file.with_name(file.name + ".rejected.csv"),
                      warnings or file.with_name(file.name + ".warnings.csv"), chunk, parallel)
    try:  # pass 1: the file is readable
        total, columns = plan.count_rows()
    except ImportFileError as exc:
        console.print(f"[red]cannot import {file}: {exc}[/red] (nothing was imported)")
        raise typer.Exit(2) from None
    headers = {"Authorization": f"Bearer {_token(token, root)}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        try:
            importer = import_file(client, plan, total, columns)
        except ImportAborted as exc:
            console.print(f"[red]import stopped: {exc}[/red]\nchunks sent so far are complete; "
                          "re-run the same command to continue (imported rows are skipped)")
            _summary(exc.importer.tally, plan.batch, plan.report, plan.warnings)
            raise typer.Exit(1) from None
    _summary(importer.tally, plan.batch, plan.report, plan.warnings)


def _run(importer: Importer, results: Iterator, total: int) -> None:
    """Read rows, send full chunks with at most `parallel` in flight; the first failure stops it."""
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress, \
            ThreadPoolExecutor(importer.parallel, thread_name_prefix="import") as pool:
        task = progress.add_task("rows", total=total)
        in_flight: set[Future] = set()

        def submit(rows: list[ContactIn]) -> None:
            while len(in_flight) >= importer.parallel:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    in_flight.discard(future)
                    future.result()  # ImportAborted stops the import here
            future = pool.submit(importer.send, rows)
            future.add_done_callback(lambda _, n=len(rows): progress.advance(task, n))
            in_flight.add(future)

        pending: list[ContactIn] = []
        for result in results:
            importer.tally.rows += 1
            if isinstance(result, RowRejection):
                importer.reject(result.row_number, result.field, result.reason, result.cells)
                progress.advance(task)
                continue
            pending.append(result)
            if len(pending) >= importer.chunk:
                submit(pending)
                pending = []
        if pending:
            submit(pending)
        for future in in_flight:
            future.result()
        progress.update(task, completed=total)


def _summary(tally: Tally, batch: str, report: Path, warnings: Path) -> None:
    table = Table(title=f"import {batch}")
    table.add_column("")
    table.add_column("rows", justify="right")
    table.add_row("read", str(tally.rows))
    table.add_row("contacts created", str(tally.created))
    table.add_row("  of which new customers", str(tally.new_customers))
    table.add_row("already imported (skipped)", str(tally.duplicates))
    table.add_row("duplicates within the file (first kept)", str(tally.file_duplicates))
    table.add_row("rejected", str(sum(tally.rejected.values())))
    for name, n in tally.rejected.most_common():
        table.add_row(f"  {name}", str(n))
    table.add_row("imported without a bad optional field", str(sum(tally.dropped.values())))
    for name, n in tally.dropped.most_common():
        table.add_row(f"  {name}", str(n))
    console.print(table)
    console.print(f"rejected rows (with their cells): {report}\ncards imported without a field: {warnings}")
    typer.echo(f"created={tally.created} new_customers={tally.new_customers} duplicates={tally.duplicates} "
               f"file_duplicates={tally.file_duplicates} rejected={sum(tally.rejected.values())} "
               f"fields_dropped={sum(tally.dropped.values())} report={report} warnings={warnings}")


def callcenter_schema_command() -> None:
    """Write the JSON Schema of the raw call-center message (docs/events/...inbound.schema.json)."""
    from .callcenter_feed import write_inbound_schema

    typer.echo(str(write_inbound_schema()))


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("callcenter-schema")(callcenter_schema_command)
