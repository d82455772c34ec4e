"""Reading the one error shape (shared/problems.py, RFC 9457) in tests."""
from __future__ import annotations

REQUIRED = {"type", "title", "status", "detail", "instance", "request_id"}


def problem(response) -> dict:
    """The problem a response carries, after checking it is one: problem+json, every member,
    the status in the body the response's own, the request id the one in the header."""
    assert response.headers.get("content-type", "").startswith("application/problem+json"), response.text
    body = response.json()
    assert REQUIRED <= set(body), body
    assert body["status"] == response.status_code and body["type"].startswith("/problems/"), body
    assert response.headers.get("x-request-id") == body["request_id"], (response.headers, body)
    if response.status_code == 422:
        assert body["errors"], body
    for error in body.get("errors", []):
        assert set(error) == {"field", "message"}, error
    return body


def problem_fields(response) -> list[str]:
    """The fields a problem names (`party_size`, `contacts[3].phone`, `query.to`), in order."""
    return [e["field"] for e in problem(response).get("errors", [])]
