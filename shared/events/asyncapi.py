"""The event contract as an AsyncAPI 3.0 document, generated from the pydantic models (never written
by hand): every topic a channel, every version of its payload a message (the envelope around it),
the Kafka key and headers, an example per message. `crm schema` writes it to
docs/events/asyncapi.json; every service serves it at `GET /asyncapi.json`.

Topics whose messages are not envelopes (the raw call-center feed intake consumes) are added by the
service that owns them (`register_inbound`), so that shared/ does not import a service.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .contract import ALL_PAYLOADS, PAST_PAYLOADS
from .envelope import Envelope, EventPayload
from .examples import PRODUCERS, envelope_example
from .topics import DEFAULT_PARTITIONS

ASYNCAPI_VERSION = "3.0.0"
CONTRACT_TITLE = "CRM event contract"
REF = "#/components/schemas/{model}"
KAFKA_BINDING = "0.5.0"

KEY_SCHEMA = {"type": "string", "format": "uuid",
              "description": "The customer id (as text): one customer's events stay in order within a topic."}
HEADERS = {"type": "object", "additionalProperties": {"type": "string"},
           "description": "The services set no Kafka headers of their own: the envelope carries the event's "
                          "metadata (id, type, version, times, producer, customer, correlation and causation). "
                          "Readers must ignore headers they do not know."}


@dataclass(frozen=True)
class InboundChannel:
    """A topic whose messages are plain JSON objects of `model`, not envelopes."""

    topic: str
    model: type[BaseModel]
    description: str
    key_description: str
    example: dict[str, Any]
    receiver: str  # the service that consumes it


INBOUND: dict[str, InboundChannel] = {}


def register_inbound(channel: InboundChannel) -> None:
    INBOUND[channel.topic] = channel


def message_id(model: type[EventPayload]) -> str:
    return f"{model.EVENT_TYPE}.v{model.VERSION}"


def _producer(model: type[EventPayload]) -> str:
    return PRODUCERS[model.__module__.rsplit(".", 1)[-1]]


def _doc_line(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _schemas(inbound: list[InboundChannel]) -> tuple[dict[str, Any], dict[type, str]]:
    """Every model's JSON Schema under components/schemas, and each top-level model's name there."""
    models = [Envelope, *PAST_PAYLOADS, *ALL_PAYLOADS, *(c.model for c in inbound)]
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    names = {m: refs[(m, "validation")]["$ref"].rsplit("/", 1)[-1] for m in models}
    schemas = defs.get("$defs", {})
    for model in (*PAST_PAYLOADS, *ALL_PAYLOADS):
        schemas[names[model]]["x-topic"] = model.EVENT_TYPE
        schemas[names[model]]["x-schema-version"] = model.VERSION
    return schemas, names


def _event_message(model: type[EventPayload], names: dict[type, str]) -> dict[str, Any]:
    producer = _producer(model)
    return {
        "name": model.EVENT_TYPE,
        "title": f"{model.EVENT_TYPE} v{model.VERSION}",
        "summary": _doc_line(model) or model.EVENT_TYPE,
        "description": (f"An envelope with `event_type` `{model.EVENT_TYPE}`, `schema_version` {model.VERSION} "
                        f"and a `{names[model]}` payload, written by {producer}. Fields marked `pii` travel "
                        "sealed (`sealed:v1:...`, listed in `sealed`) and read as erased once the customer is."),
        "contentType": "application/json",
        "headers": HEADERS,
        "payload": {"allOf": [
            {"$ref": REF.format(model=names[Envelope])},
            {"type": "object", "properties": {
                "event_type": {"const": model.EVENT_TYPE},
                "schema_version": {"const": model.VERSION},
                "payload": {"$ref": REF.format(model=names[model])}}},
        ]},
        "correlationId": {"description": "The request or event that led here.",
                          "location": "$message.payload#/correlation_id"},
        "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": KAFKA_BINDING}},
        "examples": [{"name": f"{model.EVENT_TYPE}-v{model.VERSION}",
                      "summary": "made-up data; personal fields shown opened",
                      "headers": {}, "payload": envelope_example(model.EVENT_TYPE, model.VERSION, producer)}],
    }


def _inbound_message(channel: InboundChannel, names: dict[type, str]) -> dict[str, Any]:
    return {
        "name": channel.topic, "title": f"{channel.topic} inbound message",
        "summary": _doc_line(channel.model) or channel.topic, "description": channel.description,
        "contentType": "application/json", "headers": HEADERS,
        "payload": {"$ref": REF.format(model=names[channel.model])},
        "bindings": {"kafka": {"key": {"type": "string", "description": channel.key_description},
                               "bindingVersion": KAFKA_BINDING}},
        "examples": [{"name": channel.topic, "summary": "made-up data", "headers": {}, "payload": channel.example}],
    }


def asyncapi_document() -> dict[str, Any]:
    """The whole document (deterministic: the same models give the same document)."""
    inbound = [INBOUND[t] for t in sorted(INBOUND)]
    schemas, names = _schemas(inbound)
    messages: dict[str, Any] = {}
    by_topic: dict[str, list[type[EventPayload]]] = {}
    for model in (*PAST_PAYLOADS, *ALL_PAYLOADS):
        messages[message_id(model)] = _event_message(model, names)
        by_topic.setdefault(model.EVENT_TYPE, []).append(model)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in sorted(by_topic):
        versions = sorted(by_topic[topic], key=lambda m: m.VERSION)
        latest = versions[-1]
        channels[topic] = {
            "address": topic, "title": topic,
            "description": (f"{_doc_line(latest)} Latest schema version {latest.VERSION}"
                            + (f"; versions {', '.join(str(m.VERSION) for m in versions[:-1])} are still readable "
                               "(consumers upcast them)." if len(versions) > 1 else ".")),
            "messages": {message_id(m): {"$ref": f"#/components/messages/{message_id(m)}"} for m in versions},
            "bindings": {"kafka": {"topic": topic, "partitions": DEFAULT_PARTITIONS, "bindingVersion": KAFKA_BINDING}},
        }
        operations[f"publish-{topic}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{topic}"},
            "title": f"{_producer(latest)} publishes {topic}",
            "summary": f"Written to the {_producer(latest)} outbox with the change it records; relayed to Kafka.",
            "messages": [{"$ref": f"#/channels/{topic}/messages/{message_id(latest)}"}],
        }
    for channel in inbound:
        messages[f"{channel.topic}.inbound"] = _inbound_message(channel, names)
        channels[channel.topic] = {
            "address": channel.topic, "title": channel.topic, "description": channel.description,
            "messages": {f"{channel.topic}.inbound": {"$ref": f"#/components/messages/{channel.topic}.inbound"}},
            "bindings": {"kafka": {"topic": channel.topic, "partitions": DEFAULT_PARTITIONS,
                                   "bindingVersion": KAFKA_BINDING}},
        }
        operations[f"receive-{channel.topic}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel.topic}"},
            "title": f"{channel.receiver} takes in {channel.topic}",
            "messages": [{"$ref": f"#/channels/{channel.topic}/messages/{channel.topic}.inbound"}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": CONTRACT_TITLE, "version": "1.0.0",
            "description": ("The events the CRM services exchange over Apache Kafka: one topic per event type, "
                            "every message a JSON envelope keyed by the customer id. Generated from the "
                            "pydantic contract in shared/events by `crm schema`; JSON Schemas of every payload "
                            "are in docs/events. Consumers deduplicate on `event_id` and upcast old "
                            "`schema_version`s; a message a consumer cannot take goes to `dead-letters`."),
        },
        "defaultContentType": "application/json",
        "servers": {"production": {"host": "kafka:9092", "protocol": "kafka",
                                   "description": "the broker of docker-compose.yml (embedded stack: 127.0.0.1)"}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def asyncapi_text() -> str:
    return json.dumps(asyncapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
