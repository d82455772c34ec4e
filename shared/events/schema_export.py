"""Publish the event contract for integrators as JSON Schema, from the models."""
from __future__ import annotations

import json
from pathlib import Path

from .contract import ALL_PAYLOADS, PAST_PAYLOADS
from .envelope import Envelope
from .examples import PAYLOADS, PRODUCERS, envelope_example

# Where the schemas say they live (`$id`): a name, not a server (`.example` is reserved, RFC 2606);
# a validator resolves them from docs/events by file name.
SCHEMA_BASE = "https://crm.example/schemas/events/"
ASYNCAPI_FILE = "asyncapi.json"


def contract_schemas() -> dict[str, dict]:
    """File name -> JSON Schema, for the envelope and every payload version (the latest ones and the
    past ones still readable, so a consumer can validate what an old producer sends), each with its
    `$id` and an example (shared.events.examples)."""
    latest = ALL_PAYLOADS[0]
    envelope = Envelope.model_json_schema()
    envelope["examples"] = [envelope_example(latest.EVENT_TYPE, latest.VERSION, PRODUCERS["intake"])]
    schemas = {"envelope.schema.json": envelope}
    for model in (*PAST_PAYLOADS, *ALL_PAYLOADS):
        schema = model.model_json_schema()
        schema["title"] = f"{model.EVENT_TYPE} v{model.VERSION}"
        schema["x-topic"] = model.EVENT_TYPE
        schema["examples"] = [PAYLOADS[(model.EVENT_TYPE, model.VERSION)]]
        schemas[f"{model.EVENT_TYPE}.v{model.VERSION}.schema.json"] = schema
    for name, schema in schemas.items():
        schema["$id"] = f"{SCHEMA_BASE}{name}"
    return schemas


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """The JSON Schemas and the AsyncAPI document (shared.events.asyncapi) into `folder`."""
    from .asyncapi import asyncapi_text  # imports the contract's examples; schema_export stays light

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in contract_schemas().items():
        path = folder / name
        path.write_text(schema_text(schema))
        written.append(path)
    path = folder / ASYNCAPI_FILE
    path.write_text(asyncapi_text())
    written.append(path)
    return written
