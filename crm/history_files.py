"""The files of a history import (customers, deals, payments from an earlier system), read row by row.

Each file is CSV or Excel (first sheet) with a header row; headers match in English or Chinese,
ignoring case, spaces and punctuation. Rows are read into the bodies the APIs take; a row that
cannot be read becomes a `Rejected` holding its original cells, the field and the reason, so the
rejected-rows file shows a person what to fix. The customers file is read by the business-card
rules (`services.intake.domain.cards_import`): its identity columns and its dedup are the same.

customers: `customer_ref` (客户编号) and the card columns (姓名/name, 手机/phone, 邮箱/email, …)
deals:     `customer_ref`, `deal_ref` (成交编号, optional), `closed_on` (成交日期), `product` (车型),
           `quantity` (数量, default 1), `unit_price` (单价) or `amount` (金额), `gross_profit` (毛利),
           `deposit` (定金), `consultant_id` (顾问), `payment_due_on` (应付日期)
payments:  `deal_ref`, `paid_on` (回款日期), `amount` (金额), `note` (备注)
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from services.intake.domain.cards_import import (
    ImportFileError,
    RowRejection,
    _is_blank,
    _norm_header,
    cell_text,
    import_rows,
    iter_csv_rows,
    iter_xlsx_rows,
)
from services.intake.domain.contacts import ContactIn
from shared.events.enums import Channel

ALIASES: dict[str, tuple[str, ...]] = {
    "customer_ref": ("customer_ref", "customerref", "客户编号", "客户号", "客户id", "customerid", "customerno"),
    "deal_ref": ("deal_ref", "dealref", "成交编号", "订单号", "订单编号", "dealid", "orderno", "order"),
    "closed_on": ("closed_on", "closedon", "成交日期", "购买日期", "date", "dealdate", "purchasedate"),
    "product": ("product", "item", "车型", "产品", "商品"),
    "quantity": ("quantity", "qty", "数量"),
    "unit_price": ("unit_price", "unitprice", "price", "单价"),
    "amount": ("amount", "total", "金额", "成交金额", "回款金额"),
    "gross_profit": ("gross_profit", "grossprofit", "profit", "毛利", "毛利润"),
    "deposit": ("deposit", "定金"),
    "consultant_id": ("consultant_id", "consultantid", "consultant", "顾问", "销售顾问"),
    "payment_due_on": ("payment_due_on", "paymentdueon", "dueon", "应付日期", "付款期限"),
    "paid_on": ("paid_on", "paidon", "回款日期", "付款日期", "paymentdate"),
    "note": ("note", "notes", "备注"),
}
_INDEX = {_norm_header(a): name for name, aliases in ALIASES.items() for a in aliases}
DEAL_NEEDS = ("customer_ref", "closed_on", "product", "gross_profit")
PAYMENT_NEEDS = ("deal_ref", "paid_on", "amount")


@dataclass(frozen=True)
class Rejected:
    row: int
    field: str
    reason: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """A readable row: its number, original cells and the API body (refs kept beside it)."""

    row: int
    cells: tuple[str, ...]
    body: dict
    ref: str | None = None  # customer_ref of a customer, deal_ref of a deal
    parent_ref: str | None = None  # a deal's customer_ref, a payment's deal_ref


def rows_of(path: Path) -> list[tuple[int, Sequence[Any]]]:
    """Every (row number, cells) of a CSV or the first sheet of an .xlsx file."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return list(iter_xlsx_rows(os.fspath(path)))
    if suffix in (".csv", ".txt"):
        with open(path, "rb") as stream:
            return list(iter_csv_rows(stream))
    raise ImportFileError("file", f"{path.name}: give a .csv or .xlsx file")


def _text_cells(cells: Sequence[Any]) -> tuple[str, ...]:
    return tuple((cell_text(c) or "") for c in cells)


def header_of(rows: Iterable[tuple[int, Sequence[Any]]]) -> tuple[int, tuple[str, ...]]:
    for number, cells in rows:
        if not _is_blank(cells):
            return number, _text_cells(cells)
    raise ImportFileError("header", "the file is empty")


def _columns(header: Sequence[str], needs: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _INDEX.get(_norm_header(raw))
        if name is not None:
            columns.setdefault(name, index)
    missing = [n for n in needs if n not in columns]
    if missing:
        raise ImportFileError("header", f"missing column(s): {', '.join(missing)}")
    return columns


def _data(rows: list[tuple[int, Sequence[Any]]], header_row: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    for number, cells in rows:
        if number > header_row and not _is_blank(cells):
            yield number, _text_cells(cells)


def read_customers(path: Path, import_batch: str) -> tuple[tuple[str, ...], list[Row | Rejected]]:
    """Customers as bulk-import contacts (`import_batch` + row: a re-run creates nothing twice)."""
    rows = rows_of(path)
    header_row, header = header_of(rows)
    ref_at = _columns(header, ("customer_ref",))["customer_ref"]
    cells_by_row = dict(_data(rows, header_row))
    out: list[Row | Rejected] = []
    for result in import_rows(rows, import_batch=import_batch, channel=Channel.BULK_IMPORT):
        if isinstance(result, RowRejection):
            out.append(Rejected(result.row_number, result.field, result.reason,
                                cells_by_row.get(result.row_number, ())))
            continue
        contact: ContactIn = result
        cells = cells_by_row[contact.source_row]
        ref = cells[ref_at].strip() if ref_at < len(cells) else ""
        if not ref:
            out.append(Rejected(contact.source_row, "customer_ref", "no customer_ref", cells))
            continue
        out.append(Row(contact.source_row, cells, contact.model_dump(mode="json", exclude_none=True), ref=ref))
    return header, out


def _money(value: str, name: str) -> str:
    try:
        number = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"{name}: not a number") from None
    if not number.is_finite():
        raise ValueError(f"{name}: not a number")
    return str(number)


def _deal_body(get) -> dict:
    try:
        quantity = int(get("quantity") or "1")
    except ValueError:
        raise ValueError("quantity: not a whole number") from None
    price = get("unit_price")
    amount = get("amount")
    if not price and not amount:
        raise ValueError("unit_price: give unit_price or amount")
    unit_price = _money(price, "unit_price") if price else str(Decimal(_money(amount, "amount")) / quantity)
    body = {"closed_on": get("closed_on")[:10], "gross_profit": _money(get("gross_profit"), "gross_profit"),
            "items": [{"product": get("product"), "quantity": quantity, "unit_price": unit_price}]}
    if amount:
        body["amount"] = _money(amount, "amount")
    for name in ("deposit",):
        if get(name):
            body[name] = _money(get(name), name)
    for name in ("consultant_id", "payment_due_on"):
        if get(name):
            body[name] = get(name)[:10] if name.endswith("_on") else get(name)
    return body


def _payment_body(get) -> dict:
    body = {"paid_on": get("paid_on")[:10], "amount": _money(get("amount"), "amount")}
    if get("note"):
        body["note"] = get("note")
    return body


def _read(path: Path, needs: Sequence[str], make, ref: str | None, parent: str
          ) -> tuple[tuple[str, ...], list[Row | Rejected]]:
    rows = rows_of(path)
    header_row, header = header_of(rows)
    columns = _columns(header, needs)
    out: list[Row | Rejected] = []
    for number, cells in _data(rows, header_row):
        def get(name: str, cells=cells) -> str:
            at = columns.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        missing = next((n for n in needs if not get(n)), None)
        if missing:
            out.append(Rejected(number, missing, f"no {missing}", cells))
            continue
        try:
            body = make(get)
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            out.append(Rejected(number, field, reason or str(exc), cells))
            continue
        out.append(Row(number, cells, body, ref=get(ref) if ref else None, parent_ref=get(parent)))
    return header, out


def read_deals(path: Path) -> tuple[tuple[str, ...], list[Row | Rejected]]:
    return _read(path, DEAL_NEEDS, _deal_body, "deal_ref", "customer_ref")


def read_payments(path: Path) -> tuple[tuple[str, ...], list[Row | Rejected]]:
    return _read(path, PAYMENT_NEEDS, _payment_body, None, "deal_ref")
