import csv
import io
import itertools
from datetime import UTC, datetime

import openpyxl
import pytest

from services.intake.domain.cards_import import (
    ImportFileError,
    RowRejection,
    count_cards,
    import_cards,
    import_rows,
    map_headers,
    summarise,
)
from services.intake.domain.contacts import ContactIn
from services.intake.domain.sample_cards import write_sample_cards
from shared.events.enums import Channel

N, DUP_SHARE, BROKEN_SHARE = 4700, 0.10, 0.05


@pytest.fixture(scope="module", params=["csv", "xlsx"])
def exhibition_file(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("cards") / f"cards.{request.param}"
    plan = write_sample_cards(path, N, duplicate_share=DUP_SHARE, broken_share=BROKEN_SHARE, seed=7)
    return request.param, plan


def test_generated_4700_card_file_gives_exactly_the_expected_counts(exhibition_file):
    fmt, plan = exhibition_file
    # independent arithmetic from how the file was generated
    duplicates, broken = round(N * DUP_SHARE), round(N * BROKEN_SHARE)
    assert (duplicates, broken) == (470, 235)
    results = list(import_cards(plan.path, import_batch="expo-2024", channel=Channel.EXHIBITION,
                                campaign="2024 上海车展"))
    accepted = [r for r in results if isinstance(r, ContactIn)]
    rejected = [r for r in results if isinstance(r, RowRejection)]
    assert len(results) == N
    assert len(accepted) == N - duplicates - broken == 3995
    assert len(rejected) == duplicates + broken == 705
    dup_rejections = [r for r in rejected if r.reason.startswith("duplicate of row ")]
    assert len(dup_rejections) == duplicates

    # every row is accounted for exactly once, with spreadsheet row numbers 2..N+1
    rows = sorted([c.source_row for c in accepted] + [r.row_number for r in rejected])
    assert rows == list(range(2, N + 2))

    # accepted cards have distinct identity keys; each duplicate points to an accepted row
    keys = [k for c in accepted for k in c.identity_keys()]
    assert len(keys) == len(set(keys))
    accepted_rows = {c.source_row: c for c in accepted}
    for r in dup_rejections:
        original = int(r.reason.rsplit(" ", 1)[1])
        assert original in accepted_rows and original < r.row_number
        assert r.field in ("phone", "email")

    # broken rows: field-named reasons, per kind of damage
    kinds = 5 if fmt == "csv" else 4  # no control characters can be stored in xlsx
    per_kind = {k: broken // kinds + (1 if i < broken % kinds else 0) for i, k in enumerate(
        ["bad_phone", "bad_email", "no_contact", "name_too_long", "control_char"][:kinds])}
    by_field = summarise(iter(rejected)).rejected_by_field
    dup_by = {f: sum(1 for r in dup_rejections if r.field == f) for f in ("phone", "email")}
    assert by_field["phone"] == dup_by["phone"] + per_kind["bad_phone"] + per_kind["no_contact"]
    assert by_field["email"] == dup_by["email"] + per_kind["bad_email"]
    assert by_field["name"] == per_kind["name_too_long"] + per_kind.get("control_char", 0)

    c = accepted[0]
    assert c.channel is Channel.EXHIBITION and c.campaign == "2024 上海车展"
    assert c.import_batch == "expo-2024"
    assert all(a.phone is None or a.phone.startswith("+86") for a in accepted)


def test_plan_matches_import_summary(exhibition_file):
    _, plan = exhibition_file
    summary = summarise(import_cards(plan.path, import_batch="b"))
    assert (summary.accepted, summary.rejected, summary.duplicates) == (
        plan.expected_accepted, plan.expected_rejected, plan.duplicates)


def test_counting_gives_one_per_result_without_validating(exhibition_file):
    fmt, plan = exhibition_file
    headers = []
    assert count_cards(plan.path, on_header=headers.append) == N  # broken and duplicate rows included
    assert headers and "手机" in "".join(headers[0])
    stream = csv_bytes([["title"], [], ["name", "phone"], ["Li", "13800138000"], ["", ""], ["x", "not a phone"]])
    results = list(import_cards(stream, fmt="csv", import_batch="b"))
    stream.seek(0)
    assert count_cards(stream, fmt="csv") == len(results) == 2


def test_counting_refuses_what_importing_refuses():
    refused = [(csv_bytes([["姓名", "公司"], ["张三", "x"]]), {}),
               (csv_bytes([["手机"]]), {"channel": Channel.EXHIBITION}),
               (csv_bytes([["手机"]]), {"channel": Channel.WALK_IN}),
               (io.BytesIO("手机,姓名\n13800138000,张三\n".encode() + b"13900139000,\xff\xfe\n" * 40000), {}),
               (io.BytesIO(b"not a zip"), {"fmt": "xlsx"})]
    for stream, options in refused:
        with pytest.raises(ImportFileError) as counting:
            count_cards(stream, **{"fmt": "csv", **options})
        stream.seek(0)
        with pytest.raises(ImportFileError) as importing:
            list(import_cards(stream, import_batch="b", **{"fmt": "csv", **options}))
        assert counting.value.field == importing.value.field
    with pytest.raises(ImportFileError):
        count_cards("cards.pdf")


def test_english_headers_title_row_and_gb18030(tmp_path):
    path = tmp_path / "cards.csv"
    plan = write_sample_cards(path, 300, english_headers=True, title_row="2024 车展名片",
                              encoding="gb18030", seed=3)
    results = list(import_cards(path, import_batch="b"))
    assert sum(isinstance(r, ContactIn) for r in results) == plan.expected_accepted
    assert min(r.source_row if isinstance(r, ContactIn) else r.row_number for r in results) == 3


def test_xlsx_title_row(tmp_path):
    path = tmp_path / "cards.xlsx"
    plan = write_sample_cards(path, 200, title_row="展会名片", seed=4)
    summary = summarise(import_cards(path, import_batch="b"))
    assert summary.accepted == plan.expected_accepted and summary.rejected == plan.expected_rejected


def csv_bytes(rows, delimiter=",", encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return io.BytesIO(buf.getvalue().encode(encoding))


def test_header_mapping_aliases_and_priority():
    header = map_headers(["姓名", "电话", "手机号码", "E-mail", "公司名称", "职务", "地区", "备注", "传真"])
    assert header.columns["phone"] == (2, 1)  # mobile before landline
    assert header.columns["email"] == (3,)
    assert header.ignored == ("传真",)
    assert map_headers(["Name", "Company"]) is None


def test_mobile_preferred_landline_fallback_and_numeric_cells():
    rows = [["姓名", "手机", "电话", "邮箱"],
            ["张三", 13800138000, "021-61234567", ""],
            ["李四", "", "021-61234568", None],
            ["王五", 1.39001390e10, None, "w@x.cn"]]
    out = list(import_rows(enumerate(rows, start=1), import_batch="b"))
    assert [c.phone for c in out] == ["+8613800138000", "+862161234568", "+8613900139000"]


def test_semicolon_delimiter_blank_rows_and_ragged_rows():
    stream = csv_bytes([["name", "phone", "email"], ["Li", "13800138000"], [], ["", "", ""],
                        ["Wang", "13900139000", "w@x.cn", "extra"]], delimiter=";")
    out = list(import_cards(stream, fmt="csv", import_batch="b"))
    assert [(c.name, c.source_row) for c in out] == [("Li", 2), ("Wang", 5)]


def test_duplicates_reported_with_original_row_and_rejected_rows_claim_nothing():
    rows = [["手机", "邮箱"],
            ["138 0013 8000", "bad@"],  # rejected: email
            ["+86-138-0013-8000", "a@b.cn"],  # accepted: row 2 claimed nothing
            ["0086 13800138000", ""],  # duplicate of row 3 (phone)
            ["13900139000", "A@B.CN"]]  # duplicate of row 3 (email)
    out = list(import_rows(enumerate(rows, start=1), import_batch="b"))
    assert isinstance(out[0], RowRejection) and (out[0].row_number, out[0].field) == (2, "email")
    assert isinstance(out[1], ContactIn) and out[1].source_row == 3
    assert out[2] == RowRejection(4, "phone", "duplicate of row 3")
    assert out[3] == RowRejection(5, "email", "duplicate of row 3")


def test_file_level_errors():
    with pytest.raises(ImportFileError) as info:
        list(import_cards(csv_bytes([["姓名", "公司"], ["张三", "x"]]), fmt="csv", import_batch="b"))
    assert info.value.field == "header"
    with pytest.raises(ImportFileError) as info:
        list(import_cards(csv_bytes([["手机"]]), fmt="csv", import_batch="b", channel=Channel.EXHIBITION))
    assert info.value.field == "campaign"
    with pytest.raises(ImportFileError):
        list(import_cards(csv_bytes([["手机"]]), fmt="csv", import_batch="b", channel=Channel.WALK_IN))
    with pytest.raises(ImportFileError):
        list(import_cards("cards.pdf", import_batch="b"))
    with pytest.raises(ImportFileError) as info:
        list(import_cards(io.BytesIO(b"not a zip"), fmt="xlsx", import_batch="b"))
    assert info.value.field == "file"



def test_undecodable_bytes_after_the_sniffed_sample_refuse_the_file():
    good = "".join(f"138{i:08d},张三\n" for i in range(5000)).encode()
    assert len(good) > 64 * 1024
    bad = io.BytesIO("手机,姓名\n".encode() + good + b"13900139000,\xff\xfe\n")
    results = import_cards(bad, fmt="csv", import_batch="b")
    with pytest.raises(ImportFileError) as info:
        for _ in results:
            pass
    assert info.value.field == "file" and "utf-8" in info.value.message


def test_gb18030_csv_is_detected():
    stream = io.BytesIO("姓名,手机\n张三,13800138000\n".encode("gb18030"))
    (contact,) = import_cards(stream, fmt="csv", import_batch="b")
    assert contact.name == "张三"


def test_occurred_at_applied_to_every_row():
    when = datetime(2024, 4, 25, tzinfo=UTC)
    out = list(import_rows(enumerate([["phone"], ["13800138000"]], start=1), import_batch="b",
                           occurred_at=when))
    assert out[0].occurred_at == when


def test_import_is_lazy():
    def endless():
        yield 1, ["phone"]
        for i in itertools.count(2):
            yield i, [f"138{i:08d}"]

    first = list(itertools.islice(import_rows(endless(), import_batch="b"), 5))
    assert [c.source_row for c in first] == [2, 3, 4, 5, 6]


def test_csv_is_read_as_a_stream(tmp_path):
    plan = write_sample_cards(tmp_path / "c.csv", 4700, seed=2)
    with open(plan.path, "rb") as stream:
        results = import_cards(stream, fmt="csv", import_batch="b")
        next(results)
        assert stream.tell() < plan.path.stat().st_size / 4
        results.close()
        assert not stream.closed  # the caller's stream is left open


def test_xlsx_reader_uses_read_only_mode(tmp_path, monkeypatch):
    path = tmp_path / "c.xlsx"
    write_sample_cards(path, 20, seed=1)
    calls = []
    real = openpyxl.load_workbook

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    list(import_cards(path, import_batch="b"))
    assert calls and calls[0]["read_only"] is True
