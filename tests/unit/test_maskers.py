"""The single-value maskers and the masking of whole documents (shared.masking), and log redaction."""
import logging
from datetime import date

import pytest
from pydantic import BaseModel

from shared.masking import mask_personal as mask_customer
from shared.pii import REDACTED, redact_pii
from shared.masking import (
    mask_address,
    mask_birthday,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
)


def test_maskers():
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_phone("+861012345678") == "+86101***5678"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_email("zhangsan@example.com") == "zh***@example.com"
    assert mask_email("li@qq.com") == "l***@qq.com"
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳") == "欧*"  # a two-character name is surname + given name
    assert mask_name("John Smith") == "* Smith"
    assert mask_address("上海市浦东新区世纪大道1号") == "上海市浦东新****"
    assert mask_birthday(date(1990, 5, 17)) == "1990-**-**"


CUSTOMER = {
    "customer_id": "c-1",
    "name": "张三",
    "phone": "+8613800138000",
    "email": "zhangsan@example.com",
    "id_number": "11010519491231002X",
    "birthday": "1990-05-17",
    "home_address": "上海市浦东新区世纪大道1号",
    "home_postcode": "200120",
    "grade": "A",
    "contacts": [{"channel": "walk_in", "phone": "+8613800138000", "referrer_phone": "+8613900139000"}],
    "consent": {"marketing_allowed": True},
}


def test_mask_customer_for_ops_masks_nested_pii():
    out = mask_customer(CUSTOMER)
    assert out["name"] == "张*" and out["phone"] == "+86138****8000"
    assert out["email"] == "zh***@example.com" and out["id_number"] == "110105********002X"
    assert out["birthday"] == "1990-**-**" and out["home_postcode"] == "200***"
    assert out["home_address"] == "上海市浦东新****"
    assert out["contacts"][0] == {"channel": "walk_in", "phone": "+86138****8000",
                                  "referrer_phone": "+86139****9000"}
    assert out["grade"] == "A" and out["customer_id"] == "c-1" and out["consent"] == {"marketing_allowed": True}
    assert CUSTOMER["phone"] == "+8613800138000"  # input untouched


def test_mask_customer_accepts_models_and_odd_values():
    class Card(BaseModel):
        name: str
        phone: int

    out = mask_customer({"card": Card(name="李四", phone=13800138000), "name": None})
    assert out == {"card": {"name": "李*", "phone": "138****8000"}, "name": None}


def test_redact_pii_nested():
    event = {
        "event": "contact from 138 0013 8000 (li@qq.com), id 11010519491231002X",
        "level": "info",
        "timestamp": "2024-05-01T10:00:00Z",
        "customer_id": "3f2a0c4e-1b2d-4c5e-8f90-123456789abc",
        "contact": {"Phone": "+8613800138000", "name": "张三", "region": "上海",
                    "history": [{"email": "z@x.cn", "home_address": "上海市..."},
                                ("caller_phone", "13900139000")]},
        "referrer_phone": "13900139000",
        "count": 3,
        "exc_info": ("keep", "me"),
    }
    out = redact_pii(None, "info", event)
    assert out["event"] == f"contact from {REDACTED} ({REDACTED}), id {REDACTED}"
    assert out["contact"]["Phone"] == REDACTED and out["contact"]["name"] == REDACTED
    assert out["contact"]["region"] == REDACTED  # free text about the person (the masking catalogue)
    assert out["contact"]["history"][0] == {"email": REDACTED, "home_address": REDACTED}
    assert out["contact"]["history"][1] == ("caller_phone", REDACTED)
    assert out["referrer_phone"] == REDACTED
    assert out["customer_id"] == event["customer_id"] and out["count"] == 3
    assert out["timestamp"] == event["timestamp"] and out["exc_info"] is event["exc_info"]
    assert event["contact"]["name"] == "张三"  # caller's objects untouched


def test_redact_pii_leaves_ordinary_numbers_alone():
    text = "ts 1700000000000 offset 12345 uuid 123e4567-e89b-12d3-a456-426614174000 amount 13800.00"
    assert redact_pii(None, "info", {"event": text})["event"] == text


def test_redact_pii_as_structlog_processor():
    structlog = pytest.importorskip("structlog")
    captured = []

    def capture(logger, method, event_dict):
        captured.append(event_dict)
        raise structlog.DropEvent

    log = structlog.wrap_logger(logging.getLogger("t"), processors=[redact_pii, capture])
    log.info("got {0}", customer={"email": "a@b.cn", "grade": "A"})
    assert captured[0]["customer"] == {"email": REDACTED, "grade": "A"}
