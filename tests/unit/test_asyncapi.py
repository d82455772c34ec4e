"""The AsyncAPI document and the JSON Schemas in docs/events are what the pydantic contract generates
(`crm schema`), complete (every topic, every version), self-contained, and their examples are valid
and made up."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

import services.intake.callcenter_feed as callcenter_feed
from services.intake.domain.callcenter import CallCenterMessage
from shared.events.asyncapi import INBOUND, asyncapi_document, asyncapi_text
from shared.events.envelope import Envelope
from shared.events.examples import PAYLOADS
from shared.events.registry import LATEST, MODELS, decode
from shared.events.schema_export import ASYNCAPI_FILE, SCHEMA_BASE, contract_schemas
from shared.events.topics import ALL_TOPICS, CALLCENTER_CONTACTS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "docs" / "events"


@pytest.fixture(scope="module")
def doc() -> dict:
    assert CALLCENTER_CONTACTS in INBOUND  # intake's feed registered its channel on import
    return asyncapi_document()


def test_the_committed_document_is_the_generated_one():
    """Run `crm schema` after changing the contract or its examples."""
    assert (EVENTS / ASYNCAPI_FILE).read_text() == asyncapi_text()
    assert (EVENTS / f"{CALLCENTER_CONTACTS}.inbound.schema.json").read_text() == callcenter_feed.inbound_schema_text()


def test_every_topic_is_a_channel_with_every_version_as_a_message(doc):
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == set(ALL_TOPICS)
    for (event_type, version) in MODELS:
        message = doc["components"]["messages"][f"{event_type}.v{version}"]
        assert f"{event_type}.v{version}" in doc["channels"][event_type]["messages"]
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
        assert message["headers"]["type"] == "object" and message["payload"] and message["examples"]
    for topic, channel in doc["channels"].items():
        assert channel["address"] == topic and channel["bindings"]["kafka"]["topic"] == topic
    assert {op["channel"]["$ref"] for op in doc["operations"].values()} == {f"#/channels/{t}" for t in ALL_TOPICS}


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves_inside_the_document(doc):
    for ref in set(_refs(doc)):
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_every_example_message_is_valid_for_its_schema_and_its_model(doc):
    for message_id, message in doc["components"]["messages"].items():
        schema = {**message["payload"], "components": doc["components"]}
        for example in message["examples"]:
            jsonschema.validate(example["payload"], schema)
            if message_id.endswith(".inbound"):
                CallCenterMessage.model_validate_json(json.dumps(example["payload"]))
            else:
                payload = decode(Envelope.model_validate(example["payload"]))
                assert type(payload) is LATEST[example["payload"]["event_type"]]


def test_the_json_schemas_have_an_id_and_valid_examples():
    schemas = {**contract_schemas(), f"{CALLCENTER_CONTACTS}.inbound.schema.json": callcenter_feed.inbound_schema()}
    for name, schema in schemas.items():
        assert schema["$id"] == f"{SCHEMA_BASE}{name}"
        assert schema["examples"], name
        for example in schema["examples"]:
            jsonschema.validate(example, schema)
    assert set(PAYLOADS) == set(MODELS)
    for key, payload in PAYLOADS.items():
        MODELS[key].model_validate(payload)


def test_the_examples_hold_no_real_personal_data():
    text = (EVENTS / ASYNCAPI_FILE).read_text()
    phones = set(re.findall(r"1[3-9]\d{9}", text))
    assert phones <= {"13800138000", "13900139000"}, phones
    emails = set(re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", text))
    assert emails <= {"example.com"}, emails
