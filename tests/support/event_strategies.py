"""Hypothesis strategies for the event contract, built from the pydantic models' JSON
Schema (hypothesis-jsonschema is not installed; the subset pydantic emits is small),
and near-miss mutations of what they generate.

`collect(strategy, n)` draws n examples outside any test (a sync @given wrapper with
`derandomize=True`, so a run is reproducible), which is how the async e2e tests use it.
"""
from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

Hints = dict[str, st.SearchStrategy]

# Text the contract accepts: no control characters (what `^[^\x00-\x1f\x7f]*$` and intake's
# text hygiene allow), but any other script, emoji, combining marks and RTL letters.
SAFE_TEXT = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                          blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
AWARE = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=ZONES)
PHONES = st.integers(0, 10**8 - 1).map(lambda n: f"13{n % 10}{n:08d}"[:11])
EMAILS = st.tuples(st.text(string.ascii_lowercase, min_size=1, max_size=10),
                   st.sampled_from(["example.com", "mail.cn", "qq.com"])).map(lambda t: f"{t[0]}@{t[1]}")
MONEY = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)

# Values that do not fit: wrong JSON types, out of range, huge, odd unicode, injection text.
WRONG_TYPES = [123, -1.5, True, [], {}, ["x"], {"a": 1}, "text", ""]
OUT_OF_RANGE_NUMBERS = [-1, -10**12, 10**30, 1e308, 0, 2**63]
EXTREME_TIMES = ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "2026-01-01T00:00:00",
                 "2026-02-30T00:00:00Z", "yesterday", "1700000000"]
UNICODE = ["\u202egnp.exe", "👨‍👩‍👧‍👦" * 20, "\u0000", "Z̸̢͇a̵l̴g̷o̶", "\ufeffBOM", "e\u0301", "\u0085next",
           "'; DROP TABLE inbox;--", "<script>alert(1)</script>", "名字" * 150, "\u2028", " ", "\t"]
HUGE = "長" * 30_000 + "x" * 30_000


def from_schema(schema: dict, root: dict, hints: Hints | None = None, name: str = "") -> st.SearchStrategy:
    """Values valid for `schema` (most of the time: formats the schema cannot say are hinted)."""
    hints = hints or {}
    if name in hints:
        return hints[name]
    if "$ref" in schema:
        return from_schema(root["$defs"][schema["$ref"].split("/")[-1]], root, hints, name)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        branches = schema["anyOf"]
        numeric = any(b.get("type") in ("number", "integer") for b in branches)
        out = []
        for b in branches:
            if numeric and b.get("type") == "string" and len(b) == 1:  # Decimal as a string
                out.append(MONEY.map(str))
            else:
                out.append(from_schema(b, root, hints, name))
        return st.one_of(out)
    kind = schema.get("type")
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -10**6 - 1) + 1)
        return st.integers(low, schema.get("maximum", max(low, 0) + 10**6))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -10**6))
        high = schema.get("maximum", 10**7)
        money = MONEY.filter(lambda d: low <= d <= high and ("exclusiveMinimum" not in schema or d > low))
        return money.map(float)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), root, hints, name)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=min(schema.get("maxItems", low + 3), low + 3))
    if kind == "object":
        props = schema.get("properties", {})
        if not props and isinstance(schema.get("additionalProperties"), dict):
            return st.dictionaries(st.text(SAFE_TEXT, min_size=1, max_size=20),
                                   from_schema(schema["additionalProperties"], root, hints), max_size=4)
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v, root, hints, k) for k, v in props.items() if k in required},
            optional={k: from_schema(v, root, hints, k) for k, v in props.items() if k not in required})
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(SAFE_TEXT, max_size=10))


def _string(schema: dict) -> st.SearchStrategy:
    fmt, pattern = schema.get("format"), schema.get("pattern")
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 60), 300)
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "date-time":
        return AWARE.map(lambda d: d.isoformat())
    if fmt == "date":
        return st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2030, 12, 31).date()).map(str)
    if pattern and not pattern.startswith("^[^"):  # a real pattern (identifiers, status words)
        compiled = re.compile(pattern)
        return st.from_regex(pattern, fullmatch=True).map(lambda s: s[:high]).filter(
            lambda s: len(s) >= low and compiled.fullmatch(s) is not None)
    text = st.text(SAFE_TEXT, min_size=max(low, 1) if low else 0, max_size=high)
    return text.filter(lambda s: len(s.strip()) >= low)


def string_fields(schema: dict, root: dict) -> set[str]:
    """Top-level properties that may hold a string."""
    out = set()
    for name, prop in schema.get("properties", {}).items():
        branches = prop.get("anyOf", [prop])
        for b in branches:
            if "$ref" in b:
                b = root["$defs"][b["$ref"].split("/")[-1]]
            if b.get("type") == "string":
                out.add(name)
    return out


def datetime_fields(schema: dict) -> set[str]:
    return {n for n, p in schema.get("properties", {}).items()
            if any(b.get("format") in ("date-time", "date") for b in p.get("anyOf", [p]))}


def numeric_fields(schema: dict) -> set[str]:
    return {n for n, p in schema.get("properties", {}).items()
            if any(b.get("type") in ("number", "integer") for b in p.get("anyOf", [p]))}


# A near-miss change: mutate(payload, ..., (kind, a number picking the field, a number picking the value))
MUTATIONS = ["drop_required", "null", "wrong_type", "out_of_range", "huge", "unicode", "extra_field"]



def mutate(payload: dict, schema: dict, root: dict, spec: tuple[str, int, int]) -> tuple[dict, str]:
    """Apply one near-miss change to a copy of a (valid) object; returns it and a label."""
    kind, pick, value = spec
    out = dict(payload)
    fields = sorted(schema.get("properties", {}))
    required = sorted(schema.get("required", ()))
    strings = sorted(string_fields(schema, root))
    numbers = sorted(numeric_fields(schema))
    times = sorted(datetime_fields(schema))
    if kind == "drop_required" and required:
        field = required[pick % len(required)]
        out.pop(field, None)
        return out, f"missing {field}"
    if kind == "null" and fields:
        field = fields[pick % len(fields)]
        out[field] = None
        return out, f"{field}=null"
    if kind == "wrong_type" and fields:
        field = fields[pick % len(fields)]
        out[field] = WRONG_TYPES[value % len(WRONG_TYPES)]
        return out, f"{field} of a wrong type"
    if kind == "out_of_range" and (numbers or times or strings):
        candidates = numbers + times + strings
        field = candidates[pick % len(candidates)]
        if field in numbers:
            out[field] = OUT_OF_RANGE_NUMBERS[value % len(OUT_OF_RANGE_NUMBERS)]
        elif field in times:
            out[field] = EXTREME_TIMES[value % len(EXTREME_TIMES)]
        else:
            limit = _max_length(schema["properties"][field])
            out[field] = "x" * (limit + 1)
        return out, f"{field} out of range"
    if kind == "huge" and strings:
        field = strings[pick % len(strings)]
        out[field] = HUGE
        return out, f"{field} huge (60k chars)"
    if kind == "unicode" and strings:
        field = strings[pick % len(strings)]
        out[field] = UNICODE[value % len(UNICODE)]
        return out, f"{field} odd unicode"
    out["zz_unknown_field"] = value
    return out, "unknown field"


def _max_length(prop: dict) -> int:
    return max((b.get("maxLength", 0) for b in prop.get("anyOf", [prop])), default=0) or 5000


def collect(strategy: st.SearchStrategy, n: int) -> list[Any]:
    """n examples of a strategy, drawn reproducibly outside any test."""
    found: list[Any] = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example):
        found.append(example)

    draw()
    return found[:n]
