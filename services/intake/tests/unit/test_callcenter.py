import json

import pytest

from services.intake.domain.callcenter import (
    CallCenterMessage,
    CallCenterRejection,
    dedup_key,
    parse_callcenter_message,
    to_contact,
)
from shared.events.enums import Channel, PurchaseTimeframe

MESSAGE = {
    "schema_version": 1,
    "source_system": "cc-north",
    "call_id": "C-20240501-0001",
    "call_started_at": "2024-05-01T09:30:00+08:00",
    "duration_seconds": 240,
    "call_type": "inbound",
    "caller_phone": "138 0013 8000",
    "caller_name": "张三",
    "agent_id": "A017",
    "purpose": "询价",
    "product_interest": "SUV X5",
    "purchase_timeframe": "within_1_month",
    "requested_callback_at": "2024-05-02T10:00:00+08:00",
}


def test_valid_message_maps_to_call_center_contact():
    msg = parse_callcenter_message(json.dumps(MESSAGE).encode())
    assert isinstance(msg, CallCenterMessage)
    contact = to_contact(msg)
    assert contact.channel is Channel.CALL_CENTER
    assert contact.phone == "+8613800138000" and contact.name == "张三"
    assert contact.call_id == "C-20240501-0001" and contact.receptionist == "A017"
    assert contact.purpose == "inbound call: 询价"
    assert contact.occurred_at == msg.call_started_at
    assert contact.callback_requested_at == msg.requested_callback_at
    assert contact.purchase_timeframe is PurchaseTimeframe.WITHIN_1_MONTH
    assert dedup_key(msg) == "callcenter:cc-north:C-20240501-0001"


def test_minimal_outbound_message():
    minimal = {k: MESSAGE[k] for k in ("source_system", "call_id", "call_started_at",
                                        "call_type", "caller_phone", "agent_id")}
    minimal["call_type"] = "outbound"
    msg = parse_callcenter_message(json.dumps(minimal))
    assert isinstance(msg, CallCenterMessage)
    assert to_contact(msg).purpose == "outbound call"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"caller_phone": "12345"}, "caller_phone"),
        ({"caller_phone": None}, "caller_phone"),
        ({"call_id": ""}, "call_id"),
        ({"call_id": "has space"}, "call_id"),
        ({"agent_id": None}, "agent_id"),
        ({"call_started_at": "2024-05-01T09:30:00"}, "call_started_at"),
        ({"call_started_at": "yesterday"}, "call_started_at"),
        ({"call_type": "sideways"}, "call_type"),
        ({"duration_seconds": "240"}, "duration_seconds"),  # strict: no coercion
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"requested_callback_at": "2024-04-30T10:00:00+08:00"}, "requested_callback_at"),
        ({"caller_name": "x" * 101}, "caller_name"),
        ({"caller_email": "nope"}, "caller_email"),
        ({"schema_version": 2}, "schema_version"),
        ({"purchase_timeframe": "soon"}, "purchase_timeframe"),
        ({"vin": "LSV..."}, "vin"),
    ],
)
def test_rejections_name_the_field(patch, field):
    data = {**MESSAGE, **patch}
    data = {k: v for k, v in data.items() if v is not None}
    result = parse_callcenter_message(json.dumps(data))
    assert isinstance(result, CallCenterRejection), result
    assert result.field == field
    assert result.reason.startswith(f"{field}: ")


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe", b"not json", b"[1, 2]", b"null", "x" * 70000])
def test_unparseable_messages_are_rejected_not_raised(raw):
    result = parse_callcenter_message(raw)
    assert isinstance(result, CallCenterRejection)
    assert result.reason.startswith("message: ")
