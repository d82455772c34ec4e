"""Upcasters: the JSON of an event type's version N turned into the JSON of version N+1.

Pure functions of a payload dict, registered in shared.events.registry.UPCASTERS. They see
the payload *opened* (plaintext, or erased values once the customer is erased): the consumer
runtime and analytics' projection unseal an envelope first and upcast it after. An upcaster
never fails: any valid payload of version N becomes a valid payload of version N+1, and what
it cannot place unambiguously stays where it was.
"""
from __future__ import annotations

import re
from typing import Any

# ------------------------------------------------------------ contact-received 1 -> 2
# Version 1 had no place for a channel's own fields: intake appended them to `notes`, one
# `key: value` line each, in this order, after the free text (and cut the whole at 2,000
# characters, the last one "…"). Version 2 keeps them in `channel_details`.
CONTACT_V1_NOTE_FIELDS: tuple[str, ...] = (
    "company",
    "job_title",
    "counterpart_role",
    "call_id",
    "prospecting_method",
    "target_segment",
    "referral_kind",
    "referrer_phone",  # written by early version-1 producers only; see DROPPED below
    "informant_kind",
    "informant_name",
    "referring_staff_id",
    "staff_relation",
    "service_station",
    "import_batch",
    "source_row",
    "callback_requested_at",
)
# The referrer's phone was always resolved into `referrer_customer_id` (intake refuses a referrer
# phone no customer owns); kept, it would be another person's phone sealed with this customer's key,
# outliving the referrer's own erasure. Version 2 does not carry it, so the upcast drops it.
DROPPED = frozenset({"referrer_phone"})
INTEGER_FIELDS = frozenset({"source_row"})
_RANK = {name: i for i, name in enumerate(CONTACT_V1_NOTE_FIELDS)}
# A channel detail is single-line short text (contract ShortText): at most 200 characters, no control ones.
_DETAIL_VALUE = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def _detail(key: str, value: str) -> Any:
    if key in INTEGER_FIELDS and value.isascii() and value.isdigit():
        return int(value)
    return value


def split_v1_notes(notes: Any) -> tuple[Any, dict[str, Any]]:
    """Version-1 `notes` split into (free text or None, the channel's fields).

    Only the trailing run of `key: value` lines whose keys are channel fields in the order
    intake wrote them (each at most once) moves out; anything else — a line that merely
    looks like one in the middle of the text, an unknown key, keys out of order, a value that
    is not short single-line text — stays in the free text. Not text (erased: None): unchanged.
    """
    if not isinstance(notes, str) or not notes:
        return notes, {}
    lines = notes.split("\n")
    start, rank = len(lines), len(CONTACT_V1_NOTE_FIELDS)
    while start > 0:
        key, sep, value = lines[start - 1].partition(": ")
        this = _RANK.get(key)
        if not sep or this is None or this >= rank or not _DETAIL_VALUE.fullmatch(value):
            break
        start, rank = start - 1, this
    if start == len(lines):
        return notes, {}
    details = {}
    for line in lines[start:]:
        key, _, value = line.partition(": ")
        if key not in DROPPED:
            details[key] = _detail(key, value)
    free = "\n".join(lines[:start])
    return (free or None), details


def contact_received_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """`contact-received` v1 -> v2: the channel's fields move from the end of `notes` into `channel_details`."""
    out = dict(payload)
    notes, details = split_v1_notes(out.get("notes"))
    if details or notes != out.get("notes"):
        out["notes"] = notes
    out["channel_details"] = details or None
    return out


# ------------------------------------------------------------ contact-received 2 -> 3
def contact_received_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """`contact-received` v2 -> v3: every contact before version 3 was a live one (`historical`
    false); a history import dated its contacts by the import and cancelled their work later."""
    return {**payload, "historical": False}


# ------------------------------------------------------------- followup-logged 1 -> 2
def followup_logged_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """`followup-logged` v1 -> v2: version 1 did not tell whether the task was done late; `late`
    null says so (a reader that must know judges it from the task's due time, as before)."""
    return {**payload, "late": None}


# ------------------------------------------------------------- prospect-graded 1 -> 2
def prospect_graded_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 told one change; version 2 tells the whole history. A version-1 event stays one
    change: an empty history and revision 0 tell a reader to append it, as before. The override's
    `reason` is `override_reason`."""
    data = {k: v for k, v in payload.items() if k != "reason"}
    return {**data, "override_reason": payload.get("reason"), "history": [], "revision": 0}
