"""Publish the event contract for integrators as JSON Schema, from the models."""
from __future__ import annotations

import json
from pathlib import Path

from .contract import ALL_PAYLOADS, PAST_PAYLOADS
from .envelope import Envelope


def contract_schemas() -> dict[str, dict]:
    """File name -> JSON Schema, for the envelope and every payload version (the latest ones and the
    past ones still readable, so a consumer can validate what an old producer sends)."""
    schemas = {"envelope.schema.json": Envelope.model_json_schema()}
    for model in (*PAST_PAYLOADS, *ALL_PAYLOADS):
        schema = model.model_json_schema()
        schema["title"] = f"{model.EVENT_TYPE} v{model.VERSION}"
        schema["x-topic"] = model.EVENT_TYPE
        schemas[f"{model.EVENT_TYPE}.v{model.VERSION}.schema.json"] = schema
    return schemas


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in contract_schemas().items():
        path = folder / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written
