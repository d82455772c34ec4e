"""Every request body of every service has an example, and each example is a request the
service accepts: it passes the body model's own validation, business rules in model
validators (the channel rules) included. (The running services' OpenAPI is checked in
tests/e2e/test_api_surface.py.)"""
from __future__ import annotations

import importlib
import typing

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

SERVICES = ("intake", "grading", "followup", "analytics")


def api_routes(routes) -> list[APIRoute]:
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        included = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
        if included is not None:
            out += api_routes(included.routes)
    return out


def body_models(service: str) -> list[tuple[str, type[BaseModel]]]:
    app = importlib.import_module(f"services.{service}.app").build_app()
    found = []
    for route in api_routes(app.routes):
        if isinstance(route, APIRoute) and route.body_field is not None:
            annotation = route.body_field.field_info.annotation
            models = [a for a in (typing.get_args(annotation) or (annotation,))
                      if isinstance(a, type) and issubclass(a, BaseModel)]
            for model in models:
                found.append((f"{sorted(route.methods)[0]} {route.path}", model))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_examples_the_service_accepts(service):
    models = body_models(service)
    assert models, service
    for where, model in models:
        extra = model.model_config.get("json_schema_extra")
        examples = extra.get("examples", []) if isinstance(extra, dict) else []
        assert examples, f"{service} {where}: {model.__name__} has no example"
        for example in examples:
            model.model_validate(example)  # raises, naming the field, if the example is wrong
