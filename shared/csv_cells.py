"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection"), for every CSV the
system writes: report exports, an import's rejected-rows file, generated sample files.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel,
LibreOffice and Google Sheets read as the start of a formula; such a cell gets a leading `'`,
which spreadsheets show as text and do not display. Numbers stay numbers: a number, or a text
that is only a number (`-12.50`, `+3`), is written unchanged. Pure.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutral_cell(value: Any) -> Any:
    """The value as a spreadsheet may safely read it: formula-looking text gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutral_row(row: Iterable[Any]) -> list[Any]:
    return [neutral_cell(v) for v in row]


class NeutralWriter:
    """`csv.writer` whose every cell is neutralised (same `writerow` / `writerows`)."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(neutral_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **options: Any) -> NeutralWriter:
    """A CSV writer for files people open in a spreadsheet (options as for `csv.writer`)."""
    return NeutralWriter(out, **options)
