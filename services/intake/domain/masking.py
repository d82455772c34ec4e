"""Masking of personal data (客户信息的保密性) for roles that may not see it.

Who sees full personal data (our decision):

- manager: always;
- consultant: only for their own customers (the ones assigned to them);
- ops: never (dashboards and troubleshooting need no personal data);
- integration (other company systems): never — least privilege; a system that
  posts a contact already has what it posted.

``redact_pii`` is a structlog processor: personal data never reaches the logs,
whatever the role.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel


# Log redaction is shared.pii.redact_pii (one processor for the whole project);
# re-exported here for the domain's callers.
from shared.pii import REDACTED, is_pii_key, redact_pii, redact_text  # noqa: F401

MASK = "*"


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
    return postcode[:3] + MASK * 3 if len(postcode) > 3 else MASK * 3


def mask_birthday(value: date | str) -> str:
    """Only the year stays: "1990-**-**"."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text[:4] + "-**-**" if len(text) >= 4 else MASK * 4


_MASKERS = {
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "name": mask_name,
    "address": mask_address,
    "postcode": mask_postcode,
    "birthday": mask_birthday,
}

# Keys of customer data and their masker kind (nested anywhere in the document).
PII_FIELD_KINDS: dict[str, str] = {
    "phone": "phone",
    "mobile": "phone",
    "referrer_phone": "phone",
    "caller_phone": "phone",
    "email": "email",
    "caller_email": "email",
    "id_number": "id_number",
    "name": "name",
    "caller_name": "name",
    "referrer_name": "name",
    "informant_name": "name",
    "customer_name": "name",
    "home_address": "address",
    "work_address": "address",
    "address": "address",
    "home_postcode": "postcode",
    "work_postcode": "postcode",
    "birthday": "birthday",
}


def _mask_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "birthday" and isinstance(value, date):
        return mask_birthday(value)
    if not isinstance(value, str):
        return REDACTED
    return _MASKERS[kind](value)


def _mask_tree(value: Any) -> Any:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            kind = PII_FIELD_KINDS.get(key) if isinstance(key, str) else None
            if kind is not None and not isinstance(item, (Mapping, list, tuple)):
                out[key] = _mask_value(kind, item)
            else:
                out[key] = _mask_tree(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_mask_tree(item) for item in value]
    return value


def mask_customer(data: Mapping[str, Any]) -> dict[str, Any]:
    """A masked copy of ``data`` (card, 360 view, ...), nested PII keys included; who may see
    it unmasked is decided by the caller with ``shared.access.sees_personal_data``."""
    return _mask_tree(data)
