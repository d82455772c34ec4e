"""The call-center inbound format published for integrators is current."""
import json

import jsonschema

from services.intake.callcenter_feed import SCHEMA_FILE, inbound_schema, inbound_schema_text


def test_inbound_schema_file_is_current():
    assert SCHEMA_FILE.exists(), "run: python -m services.intake.callcenter_feed"
    assert SCHEMA_FILE.read_text() == inbound_schema_text(), "regenerate: python -m services.intake.callcenter_feed"


def test_schema_accepts_the_documented_example_and_refuses_unknown_fields():
    example = {"schema_version": 1, "source_system": "cc-north", "call_id": "C-1",
               "call_started_at": "2024-05-01T09:30:00+08:00", "call_type": "inbound",
               "caller_phone": "13800138000", "agent_id": "A017"}
    jsonschema.validate(example, inbound_schema())
    try:
        jsonschema.validate({**example, "colour": "red"}, inbound_schema())
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("unknown field accepted")
    assert json.loads(inbound_schema_text())["x-topic"] == "callcenter-contacts"
