"""Realistic generated business-card files (CSV / XLSX) for tests and benchmarks.

``write_sample_cards(path, n)`` writes a header row and ``n`` data rows, of which
``round(n * duplicate_share)`` repeat an earlier valid card's phone (spelled
differently) or email (different case) and ``round(n * broken_share)`` are
invalid (bad phone, bad email, neither phone nor email, over-long name, and in
CSV a control character). Every other row is a unique, valid card. The file is
written row by row (openpyxl write-only mode), so 100,000 rows are cheap.
Only the standard library and openpyxl are used.
"""
from __future__ import annotations

import csv
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

HEADERS_ZH = ("姓名", "手机", "电话", "邮箱", "公司", "职务", "地区", "备注")
HEADERS_EN = ("Name", "Mobile", "Phone", "E-mail", "Company", "Title", "Region", "Notes")

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_COMPOUND = ("欧阳", "司马", "诸葛", "上官")
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
_COMPANIES = ("华东物流有限公司", "长城建材集团", "蓝天旅游", "恒通贸易", "东方电子科技", "新世纪餐饮")
_TITLES = ("总经理", "采购经理", "销售总监", "工程师", "主任", "Purchasing Manager", "CEO")
_REGIONS = ("上海", "北京", "杭州", "苏州", "南京", "广州", "深圳", "成都")
_MOBILE_PREFIXES = ("138", "139", "186", "150", "188")
BROKEN_KINDS = ("bad_phone", "bad_email", "no_contact", "name_too_long", "control_char")


@dataclass(frozen=True)
class SampleCardsPlan:
    """What was written; expected import results follow from it."""

    path: Path
    rows: int
    duplicates: int
    broken: int
    first_data_row: int
    broken_by_kind: Counter[str] = field(default_factory=Counter)
    duplicates_by_key: Counter[str] = field(default_factory=Counter)

    @property
    def expected_accepted(self) -> int:
        return self.rows - self.duplicates - self.broken

    @property
    def expected_rejected(self) -> int:
        return self.duplicates + self.broken

    @property
    def droppable(self) -> int:
        """Broken cards whose bad field they can do without (each keeps a good phone or email):
        `crm import` takes them in without that field (a warning), only `no_contact` is refused."""
        return self.broken - self.broken_by_kind["no_contact"]


def planned_counts(n_rows: int, duplicate_share: float, broken_share: float) -> tuple[int, int]:
    """(duplicates, broken) for a file of ``n_rows``."""
    if n_rows < 1:
        raise ValueError("n_rows must be at least 1")
    if not (0 <= duplicate_share <= 1 and 0 <= broken_share <= 1):
        raise ValueError("shares must be between 0 and 1")
    duplicates, broken = round(n_rows * duplicate_share), round(n_rows * broken_share)
    if duplicates + broken > n_rows - 1:
        raise ValueError("at least one row must be a valid original")
    return duplicates, broken


def _respell(e164: str, variant: int) -> str:
    national = e164[3:]  # "+86" + 11 digits
    a, b, c = national[:3], national[3:7], national[7:]
    return (
        f"{a} {b} {c}",
        f"+86-{a}-{b}-{c}",
        f"0086 {national}",
        f"(+86){national}",
        f"+86 {national}",
    )[variant % 5]


def _name(rng: random.Random) -> str:
    surname = rng.choice(_COMPOUND) if rng.random() < 0.05 else rng.choice(_SURNAMES)
    return surname + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def sample_card_rows(
    n_rows: int,
    *,
    duplicate_share: float = 0.1,
    broken_share: float = 0.05,
    seed: int = 0,
    english_headers: bool = False,
    allow_control_chars: bool = True,
    stats: dict[str, Counter[str]] | None = None,
) -> Iterator[list[Any]]:
    """The header row, then ``n_rows`` data rows (see module doc)."""
    n_dup, n_broken = planned_counts(n_rows, duplicate_share, broken_share)
    rng = random.Random(seed)
    broken_at = set(rng.sample(range(n_rows), n_broken))
    valid_positions = [i for i in range(n_rows) if i not in broken_at]
    dup_at = set(rng.sample(valid_positions[1:], n_dup))
    kinds = BROKEN_KINDS if allow_control_chars else BROKEN_KINDS[:-1]
    stats = stats if stats is not None else {}
    broken_stats = stats.setdefault("broken", Counter())
    dup_stats = stats.setdefault("duplicates", Counter())
    originals: list[tuple[str | None, str | None]] = []
    unique = 0
    yield list(HEADERS_EN if english_headers else HEADERS_ZH)
    for i in range(n_rows):
        name = _name(rng)
        company, title = rng.choice(_COMPANIES), rng.choice(_TITLES)
        region, notes = rng.choice(_REGIONS), rng.choice(("", "展会名片", "对SUV感兴趣", "需要报价"))
        landline = ""
        if i in broken_at:
            kind = kinds[sum(broken_stats.values()) % len(kinds)]
            broken_stats[kind] += 1
            mobile, email = f"158{i:08d}", f"broken{i}@example.net"
            if kind == "bad_phone":
                mobile = rng.choice(("12345", "138001380", "1380013800O", "99999999999"))
            elif kind == "bad_email":
                email = rng.choice(("zhang.at.example.com", "li@", "@qq.com", "wang@@163.com"))
            elif kind == "no_contact":
                mobile, email = "", ""
            elif kind == "name_too_long":
                name = "名" * 150
            else:  # control_char
                name = name[0] + "\x07" + name[1:]
            yield [name, mobile, landline, email, company, title, region, notes]
            continue
        if i in dup_at:
            phone, mail = rng.choice(originals)
            if phone is not None and (mail is None or rng.random() < 0.5):
                dup_stats["phone"] += 1
                yield [name, _respell(phone, i), "", f"dup{i}@example.org", company, title, region, "重复"]
            else:
                dup_stats["email"] += 1
                assert mail is not None
                yield [name, f"159{i:08d}", "", mail.upper(), company, title, region, "重复"]
            continue
        mode = unique % 10  # 0: email only, 1: phone only, else both
        e164 = f"+86{_MOBILE_PREFIXES[unique % 5]}{unique:08d}"
        phone = None if mode == 0 else e164
        mail = None if mode == 1 else f"card{unique}@{('example.com', 'qq.com', '163.com')[unique % 3]}"
        unique += 1
        originals.append((phone, mail))
        mobile_cell: Any = ""
        if phone is not None:
            variant = rng.randrange(6)
            mobile_cell = phone[3:] if variant == 5 else _respell(phone, variant)
            if rng.random() < 0.2:
                landline = f"021-6{rng.randrange(10**6, 10**7):07d}"
        yield [name, mobile_cell, landline, mail or "", company, title, region, notes]


def write_sample_cards(
    path: str | os.PathLike[str],
    n_rows: int,
    *,
    duplicate_share: float = 0.1,
    broken_share: float = 0.05,
    seed: int = 0,
    fmt: Literal["csv", "xlsx"] | None = None,
    english_headers: bool = False,
    title_row: str | None = None,
    encoding: str = "utf-8-sig",
) -> SampleCardsPlan:
    """Write a sample file (format from ``fmt`` or the suffix) and return its plan.

    ``title_row`` writes a title line above the header (as exported sheets
    often have); ``encoding`` applies to CSV ("utf-8-sig" is what Excel expects,
    "gb18030" what Chinese Excel writes).
    """
    path = Path(path)
    fmt = fmt or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    n_dup, n_broken = planned_counts(n_rows, duplicate_share, broken_share)
    stats: dict[str, Counter[str]] = {}
    rows = sample_card_rows(
        n_rows,
        duplicate_share=duplicate_share,
        broken_share=broken_share,
        seed=seed,
        english_headers=english_headers,
        allow_control_chars=(fmt == "csv"),
        stats=stats,
    )
    if fmt == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("名片")
        if title_row:
            sheet.append([title_row])
        for row in rows:
            # plain-digit mobiles go in as numbers, as spreadsheets store them
            if isinstance(row[1], str) and row[1].isdigit() and len(row[1]) == 11:
                row[1] = int(row[1])
            sheet.append(row)
        workbook.save(path)
    else:
        with open(path, "w", encoding=encoding, newline="") as out:
            writer = csv.writer(out)
            if title_row:
                writer.writerow([title_row])
            writer.writerows(rows)
    return SampleCardsPlan(
        path=path,
        rows=n_rows,
        duplicates=n_dup,
        broken=n_broken,
        first_data_row=3 if title_row else 2,
        broken_by_kind=stats.get("broken", Counter()),
        duplicates_by_key=stats.get("duplicates", Counter()),
    )
