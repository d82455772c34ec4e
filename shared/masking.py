"""The one masking of personal data (客户信息的保密性) for the whole project.

``PERSONAL_FIELDS`` is the catalogue: every key under which a document (a customer card,
a 360 view, a prospect file, a complaint case, a contact) may hold something about a
person, and how its value looks masked. Free text about a person (notes, purpose of a
visit, the complaint in their own words, a follow-up record, a loss note, a remedy, the
channel's details, ...) is never partly shown: masked, it is ``None`` (``FREE_TEXT_MASKED``)
everywhere. Structured values keep a hint for the reader's work and no more:

======================  =================================  =====================
kind                    keeps                              example
======================  =================================  =====================
name                    the surname                        张三 -> 张*
phone                   country code, 3 first, 4 last      +8613800138000 -> +86138****8000
email                   1-2 first letters and the domain   zhangsan@example.com -> zh***@example.com
id_number               region (6 first) and 4 last        11010519491231002X -> 110105********002X
birthday                the year                           1990-05-17 -> 1990-**-**
address                 the first 6 characters (city)      上海市浦东新区世纪大道1号 -> 上海市浦东新****
postcode                the first 3 digits                 200120 -> 200***
text                    nothing                            any -> None
======================  =================================  =====================

One entry point for documents, ``mask_personal(document, full=...)``, which masks by key
at any depth, and one for single values, ``mask_field(field, value, full=...)``. Whether a
reader may see a customer unmasked is not decided here (``shared.access``): callers pass
that decision as ``full`` (``full=True`` returns the value as it is), or call these only
when masking is due. Pure: no I/O, no framework.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

MASK = "*"
FREE_TEXT_MASKED = None  # what any free text about a person reads as, masked (the whole value goes)


class Kind(StrEnum):
    """How a personal value looks masked."""

    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    BIRTHDAY = "birthday"
    ADDRESS = "address"
    POSTCODE = "postcode"
    TEXT = "text"  # free text or anything else about the person: replaced entirely


# The catalogue: key -> kind. Keys are matched exactly (case-insensitively), at any depth.
PERSONAL_FIELDS: Mapping[str, Kind] = MappingProxyType({
    # who they are
    "name": Kind.NAME,
    "customer_name": Kind.NAME,
    "caller_name": Kind.NAME,
    "referrer_name": Kind.NAME,
    "informant_name": Kind.NAME,  # a VIP informant named on someone's contact
    "id_number": Kind.ID_NUMBER,
    "birthday": Kind.BIRTHDAY,
    "gender": Kind.TEXT,
    "occupation": Kind.TEXT,
    "company": Kind.TEXT,  # the person's employer (on the card always masked: simplest and safe)
    "job_title": Kind.TEXT,
    # how to reach them
    "phone": Kind.PHONE,
    "mobile": Kind.PHONE,
    "caller_phone": Kind.PHONE,
    "referrer_phone": Kind.PHONE,
    "email": Kind.EMAIL,
    "caller_email": Kind.EMAIL,
    "address": Kind.ADDRESS,
    "home_address": Kind.ADDRESS,
    "work_address": Kind.ADDRESS,
    "home_postcode": Kind.POSTCODE,
    "work_postcode": Kind.POSTCODE,
    # what they said or what was written about them (free text)
    "notes": Kind.TEXT,
    "purpose": Kind.TEXT,
    "region": Kind.TEXT,
    "receptionist": Kind.TEXT,
    "channel_details": Kind.TEXT,
    "description": Kind.TEXT,  # a complaint in the customer's own words
    "survey_comment": Kind.TEXT,  # the customer's comment on a complaint's resolution
    "content": Kind.TEXT,  # a follow-up record (跟踪记录)
    "note": Kind.TEXT,  # a loss (战败) note
    "decision_note": Kind.TEXT,  # the manager's note on a loss proposal
    "remedy": Kind.TEXT,  # a complaint's remedy (服务补救)
    "override_reason": Kind.TEXT,  # why a consultant set a grade by hand
    "assignment_note": Kind.TEXT,  # why a manager moved a customer
})


def kind_of(field: str) -> Kind | None:
    """The catalogue's kind for this key, or None when the key is not personal."""
    return PERSONAL_FIELDS.get(field.lower()) if isinstance(field, str) else None


def is_personal_field(field: str) -> bool:
    return kind_of(field) is not None


# ------------------------------------------------------------------ single-value maskers


def mask_phone(phone: str) -> str:
    """"+8613800138000" -> "+86138****8000"; keeps country code, 3 first and 4 last digits."""
    if not phone:
        return phone
    country, national = "", phone
    if phone.startswith("+"):
        try:
            import phonenumbers

            parsed = phonenumbers.parse(phone, None)
            country = f"+{parsed.country_code}"
            national = phonenumbers.national_significant_number(parsed)
        except Exception:  # noqa: BLE001 - masking must never fail
            country, national = "", phone
    digits = re.sub(r"\D", "", national)
    if len(digits) >= 9:
        return f"{country}{digits[:3]}{MASK * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) >= 3:
        return f"{country}{MASK * (len(digits) - 2)}{digits[-2:]}"
    return MASK * max(len(digits), 4)


def mask_email(email: str) -> str:
    """"zhangsan@example.com" -> "zh***@example.com" (1 letter kept for short locals)."""
    if "@" not in email:
        return MASK * 3
    local, domain = email.rsplit("@", 1)
    if not local:  # nothing to hide before the domain: showing the rest would show it all
        return MASK * 3
    keep = 2 if len(local) > 2 else 1
    return f"{local[:keep]}{MASK * 3}@{domain}"


def mask_id_number(id_number: str) -> str:
    """Keeps the first 6 (region) and last 4 characters: "110101********123X"."""
    if len(id_number) <= 10:
        return MASK * len(id_number)
    return f"{id_number[:6]}{MASK * (len(id_number) - 10)}{id_number[-4:]}"


# Two-character (复姓) surnames; everything else is a one-character surname.
COMPOUND_SURNAMES = frozenset(
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 "  # noqa: SIM905
    "宗政 濮阳 公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 "
    "司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 "
    "东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 西门 公祖 "
    "第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师 吴铭".split()
)


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def mask_name(name: str) -> str:
    """Keeps the surname: "张三" -> "张*", "欧阳娜娜" -> "欧阳**", "John Smith" -> "* Smith"."""
    name = name.strip()
    if not name:
        return name
    if _is_cjk(name[0]):
        surname_len = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        rest = len(name) - surname_len
        return name[:surname_len] + MASK * max(rest, 1)
    words = name.split()
    if len(words) == 1:
        return name[0] + MASK * 3
    return " ".join([MASK] * (len(words) - 1) + [words[-1]])


def mask_address(address: str) -> str:
    """Keeps the first 6 characters (province/city) and hides the rest."""
    address = address.strip()
    return address[:6] + MASK * 4 if len(address) > 6 else MASK * 4


def mask_postcode(postcode: str) -> str:
    """Keeps the first 3 digits: "200120" -> "200***"."""
    return postcode[:3] + MASK * 3 if len(postcode) > 3 else MASK * 3


def mask_birthday(value: date | str) -> str:
    """Only the year stays: "1990-**-**"."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text[:4] + "-**-**" if len(text) >= 4 else MASK * 4


def mask_text(_value: Any) -> None:
    """Free text about a person: nothing of it is shown."""
    return FREE_TEXT_MASKED


_STRING_MASKERS = {
    Kind.NAME: mask_name, Kind.PHONE: mask_phone, Kind.EMAIL: mask_email, Kind.ID_NUMBER: mask_id_number,
    Kind.BIRTHDAY: mask_birthday, Kind.ADDRESS: mask_address, Kind.POSTCODE: mask_postcode,
}


def mask_as(kind: Kind, value: Any) -> Any:
    """`value` masked as a `kind` value (None stays None; free text, whatever its type, becomes
    None; a structured value masks each of its leaves as `kind`)."""
    if value is None:
        return None
    if kind is Kind.TEXT:
        return FREE_TEXT_MASKED
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: mask_as(kind, v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_as(kind, v) for v in value]
    if kind is Kind.BIRTHDAY and isinstance(value, date):
        return mask_birthday(value)
    return _STRING_MASKERS[kind](value if isinstance(value, str) else str(value))


# ------------------------------------------------------------------ the entry points


def mask_field(field: str, value: Any, *, full: bool = False) -> Any:
    """One value of the key `field`, masked as the catalogue says (a key not in it is not
    personal: its value is returned as it is); `full`: the reader may see it unmasked."""
    kind = kind_of(field)
    if full or kind is None:
        return value
    return mask_as(kind, value)


def mask_personal(document: Any, *, full: bool = False) -> Any:
    """A masked copy of `document` (a mapping, a list, a pydantic model), every personal key at
    any depth masked as the catalogue says; the input is not modified. `full`: the reader may
    see it unmasked, and `document` comes back as it is."""
    if full:
        return document
    return _mask_tree(document, 0)


_MAX_DEPTH = 64


def _mask_tree(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:  # nothing we build is that deep: show nothing rather than guess
        return FREE_TEXT_MASKED
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            kind = kind_of(key)
            out[key] = _mask_tree(item, depth + 1) if kind is None else mask_as(kind, item)
        return out
    if isinstance(value, (list, tuple)):
        return [_mask_tree(item, depth + 1) for item in value]
    return value


__all__ = [
    "COMPOUND_SURNAMES", "FREE_TEXT_MASKED", "MASK", "PERSONAL_FIELDS", "Kind", "is_personal_field", "kind_of",
    "mask_address", "mask_as", "mask_birthday", "mask_email", "mask_field", "mask_id_number", "mask_name",
    "mask_personal", "mask_phone", "mask_postcode", "mask_text",
]
