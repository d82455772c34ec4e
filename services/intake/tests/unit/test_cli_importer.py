"""`crm import`'s sender: rows the server refuses are reported, the rest sent again."""
import csv
import io
import json

import httpx

from services.intake.cli import Importer
from services.intake.domain.contacts import ContactIn


def rows(n: int) -> list[ContactIn]:
    return [ContactIn(channel="bulk_import", phone=f"1390000{i:04d}", import_batch="b", source_row=i + 2)
            for i in range(n)]


def test_refused_rows_are_reported_and_the_rest_resent():
    sent: list[list[int]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        contacts = json.loads(request.content)["contacts"]
        sent.append([c["source_row"] for c in contacts])
        if len(sent) == 1:
            return httpx.Response(422, headers={"Content-Type": "application/problem+json"}, json={
                "type": "/problems/validation", "title": "Invalid input", "status": 422,
                "detail": "1 field is invalid: contacts[1].referrer_phone.", "instance": "/v1/contacts/batch",
                "request_id": "r-1", "errors": [{"field": "contacts[1].referrer_phone",
                                                 "message": "no known customer is the referrer"}]})
        return httpx.Response(201, json={"accepted": len(contacts), "new_customers": 1, "duplicates": 0,
                                         "results": []})

    out = io.StringIO()
    client = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://intake")
    importer = Importer(client, csv.writer(out), chunk=500)
    importer.send(rows(3))
    assert sent == [[2, 3, 4], [2, 4]]
    assert out.getvalue().splitlines() == ["3,referrer_phone,no known customer is the referrer"]
    assert importer.tally.created == 2 and importer.tally.rejected == {"referrer_phone": 1}


def test_server_errors_are_retried_then_abort():
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503) if len(calls) < 3 else httpx.Response(
            201, json={"accepted": 1, "new_customers": 0, "duplicates": 0, "results": []})

    client = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://intake")
    importer = Importer(client, csv.writer(io.StringIO()), chunk=500)
    importer.send(rows(1))
    assert len(calls) == 3 and importer.tally.created == 1


def test_a_refused_row_is_reported_with_its_cells_and_they_are_let_go_once_answered():
    def answer(request: httpx.Request) -> httpx.Response:
        contacts = json.loads(request.content)["contacts"]
        if any(c["source_row"] == 3 for c in contacts):
            index = [c["source_row"] for c in contacts].index(3)
            return httpx.Response(422, json={"status": 422, "errors": [
                {"field": f"contacts[{index}].phone", "message": "not a valid phone number"}]})
        return httpx.Response(201, json={"accepted": len(contacts), "new_customers": 0, "duplicates": 0,
                                         "results": []})

    out = io.StringIO()
    client = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://intake")
    importer = Importer(client, csv.writer(out), chunk=500, width=3)
    for row in rows(3):
        importer.keep(row.source_row, ("王芳", f"cell-{row.source_row}", "x@example.com"))
    importer.send(rows(3))
    assert out.getvalue().splitlines() == ["3,王芳,cell-3,x@example.com,phone,not a valid phone number"]
    assert importer.tally.created == 2
    assert not importer._cells  # nothing kept once the chunk is answered
