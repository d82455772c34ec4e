import uuid

import pytest
from pydantic import ValidationError

from services.intake.domain.complaints import ComplaintIn, to_complaint_filed
from shared.events.enums import Channel, ComplaintCategory, ComplaintSeverity


def test_complaint_for_known_customer():
    cid = uuid.uuid4()
    c = ComplaintIn.model_validate({"customer_id": str(cid), "channel": "web_form",
                                    "severity": "high", "description": " 网站留言一个月无人回复 "})
    assert c.customer_id == cid and not c.needs_resolution
    assert c.description == "网站留言一个月无人回复"
    event = to_complaint_filed(c, complaint_id=uuid.uuid4())
    assert event.severity is ComplaintSeverity.HIGH and event.channel is Channel.WEB_FORM


def test_complaint_identified_by_phone():
    c = ComplaintIn.model_validate({"phone": "138 0013 8000", "channel": "phone", "severity": "medium",
                                    "description": "维修等了一个月", "category": "after_sales_service"})
    assert c.needs_resolution and c.phone == "+8613800138000"
    assert c.category is ComplaintCategory.AFTER_SALES_SERVICE
    assert [str(k) for k in c.identity_keys()] == ["phone:+8613800138000"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"customer_id": None, "phone": None}, "customer_id"),
        ({"description": "  "}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"severity": "critical"}, "severity"),
        ({"channel": "fax"}, "channel"),
        ({"category": "rudeness"}, "category"),
        ({"phone": "123"}, "phone"),
        ({"customer_id": "not-a-uuid"}, "customer_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_complaints_name_the_field(patch, field):
    data = {"phone": "13800138000", "channel": "phone", "severity": "low", "description": "太慢"}
    data.update(patch)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValidationError) as info:
        ComplaintIn.model_validate(data)
    assert info.value.errors()[0]["loc"] == (field,)
