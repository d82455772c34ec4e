"""`crm import FILE`: 4,700 generated business cards with duplicates and broken rows."""
import asyncio
import csv
import json
import subprocess
import sys
from pathlib import Path

import httpx

from shared.events.enums import Role

from services.intake.cli import ImportChannel, ImportPlan, import_file
from services.intake.domain.sample_cards import write_sample_cards

from .helpers import count, new_phone, spaced

ROOT = Path(__file__).resolve().parents[4]


def crm_import(api, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "crm.cli", "import", *args, "--url", api.url("intake", ""),
               "--token", api.token(Role.INTEGRATION)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


async def test_import_of_4700_cards_with_duplicates_and_broken_rows(api, tmp_path):
    plan = write_sample_cards(tmp_path / "cards.csv", 4700, seed=20260501)
    report = tmp_path / "rejected.csv"
    contacts_before = await count(api, "select count(*) from contacts")

    run = await asyncio.to_thread(crm_import, api, str(plan.path), "--report", str(report), "--batch", "expo-1",
                                  "--channel", "exhibition", "--campaign", "2026 Auto Show")
    assert run.returncode == 0, run.stderr[-3000:]
    with open(report, encoding="utf-8") as f:
        rejected = list(csv.DictReader(f))
    # bad optional fields are dropped with a warning, the card kept: only duplicates and cards without
    # a usable phone or email are rejected (before: every broken card was)
    assert len(rejected) == plan.expected_rejected - plan.droppable
    assert sum(r["reason"].startswith("duplicate of row") for r in rejected) == plan.duplicates
    assert all(r["row"].isdigit() and r["rejected_field"] and r["reason"] for r in rejected)
    assert all(r["手机"] or r["邮箱"] for r in rejected if r["reason"].startswith("duplicate"))  # the row's cells
    warnings = list(csv.DictReader(open(plan.path.with_name(plan.path.name + ".warnings.csv"), encoding="utf-8")))
    assert len(warnings) == plan.droppable and all(r["dropped_field"] and r["reason"] for r in warnings)
    created = await count(api, "select count(*) from contacts where dedup_key like 'import:expo-1:%'")
    assert created == (plan.expected_accepted + plan.droppable)
    assert await count(api, "select count(*) from contacts") - contacts_before == (plan.expected_accepted + plan.droppable)
    assert f"created={(plan.expected_accepted + plan.droppable)}" in run.stdout
    # a card repeated in the file is a duplicate, not a rejection of its phone (it is in the report all the same)
    assert (f"file_duplicates={plan.duplicates} rejected={plan.broken - plan.droppable} "
            f"fields_dropped={plan.droppable}") in run.stdout

    again = await asyncio.to_thread(crm_import, api, str(plan.path), "--report", str(report), "--batch", "expo-1",
                                    "--channel", "exhibition", "--campaign", "2026 Auto Show")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"created=0 new_customers=0 duplicates={(plan.expected_accepted + plan.droppable)}" in again.stdout
    assert await count(api, "select count(*) from contacts") - contacts_before == (plan.expected_accepted + plan.droppable)


async def test_unreadable_file_imports_nothing(api, tmp_path):
    bad = tmp_path / "cards.csv"
    bad.write_text("colour,size\nred,1\n", encoding="utf-8")
    run = await asyncio.to_thread(crm_import, api, str(bad))
    assert run.returncode == 2 and "header" in run.stderr


async def test_excel_cards_import(api, tmp_path):
    plan = write_sample_cards(tmp_path / "cards.xlsx", 60, seed=99, title_row="2026 车展名片")
    run = await asyncio.to_thread(crm_import, api, str(plan.path), "--batch", "xlsx-1", "--chunk", "25")
    assert run.returncode == 0, run.stderr[-3000:]
    assert await count(api, "select count(*) from contacts where dedup_key like 'import:xlsx-1:%'") \
        == (plan.expected_accepted + plan.droppable)


class StricterIntake(httpx.BaseTransport):
    """The running intake, reached through a transport that gives the cards of `names` a phone intake
    refuses: as an intake with a rule this client does not know yet would refuse them."""

    def __init__(self, names: set[str]) -> None:
        self.names, self.inner = names, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/contacts/batch":
            body = json.loads(request.content)
            for contact in body["contacts"]:
                if contact.get("name") in self.names:
                    contact["phone"] = "12"
            headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
            request = httpx.Request(request.method, request.url, headers=headers, content=json.dumps(body).encode())
        return self.inner.handle_request(request)


async def test_rows_the_server_refuses_are_reported_with_their_cells(api, tmp_path):
    """Cards valid to this client but refused by intake keep every cell in the report, whichever chunk
    (several in flight) they were in; the others are imported."""
    header = ["姓名", "手机", "邮箱", "公司", "备注"]
    cards = [[f"客户{i:02d}", spaced(new_phone()), f"card{i}@example.com", f"公司{i}", f"展台 {i} 号"]
             for i in range(12)]
    path = tmp_path / "cards.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *cards])
    refused = {"客户03", "客户04", "客户10"}
    plan = ImportPlan(path, "refused-by-server", ImportChannel.BULK_IMPORT, None, tmp_path / "rejected.csv",
                      tmp_path / "warnings.csv", chunk=2, parallel=2)
    total, columns = plan.count_rows()

    def run():
        with httpx.Client(base_url=api.url("intake", ""), transport=StricterIntake(refused), timeout=60,
                          headers={"Authorization": f"Bearer {api.token(Role.INTEGRATION)}"}) as client:
            return import_file(client, plan, total, columns)

    importer = await asyncio.to_thread(run)
    with open(plan.report, encoding="utf-8") as f:
        rejected = list(csv.DictReader(f))
    by_row = {int(r["row"]): r for r in rejected}
    expected = {n + 2: card for n, card in enumerate(cards) if card[0] in refused}  # row 1 is the header
    assert set(by_row) == set(expected), rejected
    for row, card in expected.items():
        assert [by_row[row][c] for c in header] == card, by_row[row]  # every cell as read
        assert by_row[row]["rejected_field"] == "phone" and by_row[row]["reason"]
    assert importer.tally.created == len(cards) - len(refused) and importer.tally.rejected == {"phone": 3}
    assert not importer._cells  # the cells were let go once each chunk was answered
    assert await count(api, "select count(*) from contacts where dedup_key like 'import:refused-by-server:%'") \
        == len(cards) - len(refused)
