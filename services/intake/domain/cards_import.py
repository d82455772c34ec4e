"""Streaming import of business cards (名片) from CSV or Excel (.xlsx).

"We collected 4,700 business cards at the exhibition; how do we use them?"
``import_cards`` reads the file row by row and yields, per data row, either a
valid ``ContactIn`` or a ``RowRejection`` naming the field and the reason. It
never loads the file: the only state kept is one 8-byte digest per identity
key seen (for de-duplication within the file), so memory stays bounded for
100,000 rows and more.

Rules:

- Row numbers are the spreadsheet's: the first line of the file is row 1, so
  the first data row under a header on line 1 is row 2.
- The header row is the first of the first ``HEADER_SEARCH_ROWS`` rows that has
  a phone or an email column (title lines above it are skipped). Headers are
  matched in English or Chinese (``HEADER_ALIASES``), ignoring case, spaces and
  punctuation; unknown columns are ignored (see ``HeaderMap.ignored``). A file
  without a phone or email column is refused as a whole (``ImportFileError``).
- When several columns map to one field (手机 and 电话), the first non-empty
  one in alias order wins: a mobile number before a landline.
- Entirely blank rows are skipped and not reported.
- A row whose normalised phone or email was already accepted earlier in the
  file is rejected as "duplicate of row N" (N = the accepted row). Rejected rows
  do not claim their keys.
- CSV: UTF-8 (with or without BOM) or GB18030 (what Chinese Excel writes),
  detected from the first 64 KiB; delimiter ``,``, ``;`` or tab, from the
  header line.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ValidationError

from shared.events.enums import Channel, CustomerKind

from .contacts import ContactIn
from .errors import DomainValidationError, error_field, first_error

HEADER_SEARCH_ROWS = 10
DUPLICATE_OF_ROW = "duplicate of row"  # the reason of a card repeating an earlier row's phone or email
SNIFF_BYTES = 64 * 1024

# canonical field -> aliases, in priority order (normalised with _norm_header)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "客户姓名", "联系人", "name", "fullname", "contactname", "contact"),
    "phone": (
        "手机", "手机号", "手机号码", "移动电话", "mobile", "mobilephone", "cell", "cellphone",
        "电话", "电话手机", "手机电话", "联系电话", "电话号码", "座机", "phone", "phonenumber",
        "tel", "telephone",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "emailaddress", "mail"),
    "company": ("公司", "公司名称", "单位", "工作单位", "企业", "company", "organisation",
                "organization", "employer"),
    "job_title": ("职务", "职位", "头衔", "title", "jobtitle", "position", "role"),
    "region": ("地区", "区域", "城市", "所在地", "省市", "region", "city", "area", "location"),
    "notes": ("备注", "说明", "留言", "notes", "note", "remark", "remarks", "comment", "comments"),
    "product_interest": ("意向车型", "拟购车型", "意向产品", "感兴趣产品", "product",
                         "productinterest", "interest"),
    "purpose": ("来访目的", "来此目的", "目的", "purpose"),
}

_PUNCT = set(" \t_-:：/\\()（）[]【】*.·'\"")


def _norm_header(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).lower()
    return "".join(ch for ch in text if ch not in _PUNCT and not ch.isspace())


_ALIAS_INDEX: dict[str, tuple[str, int]] = {
    _norm_header(alias): (fieldname, rank)
    for fieldname, aliases in HEADER_ALIASES.items()
    for rank, alias in enumerate(aliases)
}


class ImportFileError(DomainValidationError):
    """The file as a whole cannot be imported (``field`` is "file" or "header")."""


@dataclass(frozen=True, slots=True)
class RowRejection:
    row_number: int
    field: str
    reason: str
    cells: tuple[str, ...] = field(default=(), compare=False)  # the row as read, for a person to correct it


@dataclass(frozen=True, slots=True)
class FieldDropped:
    """A bad optional field left out of a card that is imported without it."""

    row_number: int
    field: str
    reason: str
    cells: tuple[str, ...] = field(default=(), compare=False)


def row_cells(cells: Sequence[Any]) -> tuple[str, ...]:
    """Every cell of a row as text ('' for an empty one), as the file holds it."""
    return tuple(cell_text(c) or "" for c in cells)


@dataclass(frozen=True)
class HeaderMap:
    """Which columns feed which field (columns in priority order per field)."""

    header_row: int
    columns: dict[str, tuple[int, ...]]
    ignored: tuple[str, ...] = ()

    def extract(self, row: Sequence[Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for fieldname, indexes in self.columns.items():
            for i in indexes:
                if i < len(row):
                    text = cell_text(row[i])
                    if text is not None and text.strip():
                        out[fieldname] = text
                        break
        return out


def map_headers(header: Sequence[Any], header_row: int = 1) -> HeaderMap | None:
    """The header map of a row, or None when it has no phone or email column."""
    found: dict[str, list[tuple[int, int]]] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        if raw is None or not str(raw).strip():
            continue
        hit = _ALIAS_INDEX.get(_norm_header(raw))
        if hit is None:
            ignored.append(str(raw).strip()[:100])
            continue
        fieldname, rank = hit
        found.setdefault(fieldname, []).append((rank, index))
    if "phone" not in found and "email" not in found:
        return None
    columns = {f: tuple(i for _, i in sorted(hits)) for f, hits in found.items()}
    return HeaderMap(header_row, columns, tuple(ignored))


def cell_text(value: Any) -> str | None:
    """A spreadsheet cell as text: numbers without ".0", dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _is_blank(row: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _key_digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def import_rows(
    rows: Iterable[tuple[int, Sequence[Any]]],
    *,
    import_batch: str,
    channel: Channel = Channel.BULK_IMPORT,
    campaign: str | None = None,
    occurred_at: datetime | None = None,
    customer_kind: CustomerKind = CustomerKind.CONSUMER,
    on_dropped: Callable[[FieldDropped], None] | None = None,
    on_header: Callable[[tuple[str, ...]], None] | None = None,
    on_accepted: Callable[[int, tuple[str, ...]], None] | None = None,
) -> Iterator[ContactIn | RowRejection]:
    """The format-independent core: ``rows`` are (row_number, cells) incl. the header.

    With ``on_dropped``, a card whose only problems are in fields read from the file that it
    can do without (an email when the phone is good, a region, ...) is imported without them,
    each dropped field told to ``on_dropped``; without it, such a card is rejected. A card
    missing what it needs (a usable phone or email, what its channel requires) is rejected.
    ``on_header`` is told the header row's cells when it is found; ``on_accepted`` the row number
    and cells of each card just before it is yielded (the caller can keep them while the card
    is on its way, to report the row as read if the server refuses it)."""
    _check_channel(channel, campaign)
    seen: dict[int, int] = {}  # key digest -> accepted row number
    for header, row_number, cells in _card_rows(rows, on_header):
        data: dict[str, Any] = header.extract(cells)
        data.update(
            channel=channel,
            import_batch=import_batch,
            source_row=row_number,
            customer_kind=customer_kind,
        )
        if campaign is not None:
            data["campaign"] = campaign
        if occurred_at is not None:
            data["occurred_at"] = occurred_at
        read = frozenset(header.columns)
        try:
            contact = ContactIn.model_validate(data)
        except ValidationError as exc:
            contact = _without_bad_fields(data, exc, read) if on_dropped is not None else None
            if contact is None:
                fieldname, message = first_error(exc)
                yield RowRejection(row_number, fieldname, message, row_cells(cells))
                continue
            for err in exc.errors(include_url=False):
                on_dropped(FieldDropped(row_number, error_field(tuple(err["loc"])), err["msg"], row_cells(cells)))
        keys = contact.identity_keys()
        digests = [(k, _key_digest(str(k))) for k in keys]
        duplicate = next(((k, seen[d]) for k, d in digests if d in seen), None)
        if duplicate is not None:
            key, original = duplicate
            yield RowRejection(row_number, key.kind.value, f"{DUPLICATE_OF_ROW} {original}", row_cells(cells))
            continue
        for _, d in digests:
            seen[d] = row_number
        if on_accepted is not None:
            on_accepted(row_number, row_cells(cells))
        yield contact


def _check_channel(channel: Channel, campaign: str | None) -> None:
    if channel not in (Channel.BULK_IMPORT, Channel.EXHIBITION):
        raise ImportFileError("channel", "must be bulk_import or exhibition")
    if channel is Channel.EXHIBITION and not (campaign and campaign.strip()):
        raise ImportFileError("campaign", "the exhibition's name is required")


def _card_rows(rows: Iterable[tuple[int, Sequence[Any]]], on_header: Callable[[tuple[str, ...]], None] | None
               ) -> Iterator[tuple[HeaderMap, int, Sequence[Any]]]:
    """The data rows under the header row, blank ones skipped, each with the header's map;
    ImportFileError when no header is found."""
    header: HeaderMap | None = None
    for row_number, cells in rows:
        if header is None:
            if _is_blank(cells):
                continue
            header = map_headers(cells, row_number)
            if header is not None and on_header is not None:
                on_header(row_cells(cells))
            if header is None and row_number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not _is_blank(cells):
            yield header, row_number, cells
    if header is None:
        raise ImportFileError(
            "header", "no phone or email column found (e.g. 手机, 电话, 邮箱, phone, email)"
        )


def _without_bad_fields(data: dict[str, Any], exc: ValidationError, read: frozenset[str]) -> ContactIn | None:
    """The card without its bad fields, when every problem is in a field read from the file and the
    card is valid without them; else None (the card is rejected)."""
    errors = exc.errors(include_url=False)
    if any(not err["loc"] for err in errors):  # a problem of the card as a whole
        return None
    bad = {err["loc"][0] for err in errors}
    if not bad <= read:  # e.g. the campaign the import gives every card
        return None
    try:
        return ContactIn.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        return None


# --- readers -----------------------------------------------------------------------

Source = str | os.PathLike[str] | BinaryIO


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _detect_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(row_number, cells) of a CSV byte stream (seekable), streaming."""
    if not stream.seekable():
        raise ImportFileError("file", "the CSV stream must be seekable")
    start = stream.tell()
    sample = stream.read(SNIFF_BYTES)
    stream.seek(start)
    encoding = _detect_encoding(sample)
    first_line = sample.split(b"\n", 1)[0].decode(encoding, errors="replace")
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=_detect_delimiter(first_line))
    row_number = 0
    try:
        for row_number, row in enumerate(reader, start=1):
            yield row_number, row
    except UnicodeDecodeError as exc:
        raise ImportFileError("file", f"row {row_number + 1}: not valid {encoding} text") from exc
    except csv.Error as exc:
        raise ImportFileError("file", f"row {row_number + 1}: {exc}") from exc
    finally:
        text.detach()  # leave the caller's stream open


def iter_xlsx_rows(source: Source) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row_number, cells) of the first worksheet, via openpyxl's read-only mode."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportFileError("file", f"not a readable .xlsx file ({exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def import_cards(
    source: Source,
    *,
    import_batch: str,
    fmt: Literal["csv", "xlsx"] | None = None,
    channel: Channel = Channel.BULK_IMPORT,
    campaign: str | None = None,
    occurred_at: datetime | None = None,
    customer_kind: CustomerKind = CustomerKind.CONSUMER,
    on_dropped: Callable[[FieldDropped], None] | None = None,
    on_header: Callable[[tuple[str, ...]], None] | None = None,
    on_accepted: Callable[[int, tuple[str, ...]], None] | None = None,
) -> Iterator[ContactIn | RowRejection]:
    """Stream a CSV or XLSX file of business cards; ``fmt`` defaults from the suffix (the
    callbacks: see ``import_rows``)."""
    yield from import_rows(
        _table(source, fmt),
        import_batch=import_batch,
        channel=channel,
        campaign=campaign,
        occurred_at=occurred_at,
        customer_kind=customer_kind,
        on_dropped=on_dropped,
        on_header=on_header,
        on_accepted=on_accepted,
    )


def count_cards(
    source: Source,
    *,
    fmt: Literal["csv", "xlsx"] | None = None,
    channel: Channel = Channel.BULK_IMPORT,
    campaign: str | None = None,
    on_header: Callable[[tuple[str, ...]], None] | None = None,
) -> int:
    """How many results ``import_cards`` will yield for this file (one per data row), reading it
    without validating the cards: a file that cannot be imported is refused (ImportFileError)
    exactly as ``import_cards`` would refuse it."""
    _check_channel(channel, campaign)
    return sum(1 for _ in _card_rows(_table(source, fmt), on_header))


def _table(source: Source, fmt: Literal["csv", "xlsx"] | None) -> Iterator[tuple[int, Sequence[Any]]]:
    """(row_number, cells) of the file, by format (from the suffix when ``fmt`` is None)."""
    if fmt is None:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "")
        suffix = Path(str(name)).suffix.lower()
        fmt = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix)  # type: ignore[assignment]
        if fmt is None:
            raise ImportFileError("file", "unknown file type: give a .csv or .xlsx file")
    if fmt == "xlsx":
        yield from iter_xlsx_rows(source)
        return
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield from iter_csv_rows(stream)
    else:
        yield from iter_csv_rows(source)


@dataclass
class ImportSummary:
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejected_by_field: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    def add(self, result: ContactIn | RowRejection) -> None:
        if isinstance(result, RowRejection):
            self.rejected += 1
            self.rejected_by_field[result.field] += 1
            if result.reason.startswith(DUPLICATE_OF_ROW):
                self.duplicates += 1
        else:
            self.accepted += 1


def summarise(results: Iterable[ContactIn | RowRejection]) -> ImportSummary:
    """Count the results of an import (consumes the iterator)."""
    summary = ImportSummary()
    for result in results:
        summary.add(result)
    return summary
