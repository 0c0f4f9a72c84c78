"""CSV drops: reading and mapping rows without services; changes and tombstones on Kafka."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from producer_layouts import producer_layout
from topic_reader import TopicReader

from heritage.kafka_topics import ensure_topics
from heritage.producers.csv_drop import (
    ROW_STATE_FILE,
    BadCsvRow,
    CsvColumnMapping,
    CsvDropError,
    CsvRow,
    CsvRowState,
    csv_record_id,
    dead_letter_row,
    map_csv_row,
    publish_csv,
    read_csv_rows,
    sniff_delimiter,
)
from heritage.settings import Settings

HEADER = "id,title,creator,date,rights,image_url,data_provider,type,language\n"
ROWS = {
    "1": "1,De Nachtwacht,Rembrandt van Rijn,1642,http://rightsstatements.org/vocab/NoC-NC/1.0/,"
    "https://img.example.org/1.jpg,Rijksmuseum,IMAGE,nl\n",
    "2": "2,Het melkmeisje,Johannes Vermeer,c. 1660,,,Rijksmuseum,IMAGE,nl\n",
    "3": '3,"Brief, met zegel",,1702,,,Rijksmuseum,TEXT,nl|fr\n',
    "4": "4,Kaart van de kust,,1650,,,Rijksmuseum,IMAGE,nl\n",
    "5": "5,Stilleven,Rachel Ruysch|workshop,1700,,,Rijksmuseum,IMAGE,\n",
}


def write_csv(path: Path, rows: dict[str, str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(rows.values()), encoding="utf-8")
    return path


def read(path: Path, **options: str) -> list[CsvRow | BadCsvRow]:
    return list(read_csv_rows(path, CsvColumnMapping(), **options))


# --- mapping ---------------------------------------------------------------------------


def test_a_row_maps_onto_the_common_record_with_multi_values_split() -> None:
    cells = {
        "id": " 3 ",
        "title": "Brief, met zegel",
        "creator": "Anna | Bert |",
        "date": "1702",
        "rights": "",
        "image_url": "",
        "data_provider": "Rijksmuseum",
        "type": "TEXT|IMAGE",
        "language": "dut|fre",
        "notes": "kept only in the payload",
    }
    assert map_csv_row(cells, CsvColumnMapping()) == {
        "id": "3",
        "title": ["Brief, met zegel"],
        "dcTitleLangAware": {"def": ["Brief, met zegel"]},
        "dcCreator": ["Anna", "Bert"],
        "dcDate": ["1702"],
        "dataProvider": ["Rijksmuseum"],
        "type": "TEXT",
        "language": ["nl", "fr"],
    }


def test_a_custom_mapping_names_other_columns_and_a_default_provider() -> None:
    columns = CsvColumnMapping(
        id="Inventarnummer",
        title="Titel",
        creator="Künstler",
        image_url=None,
        updated="Geändert",
        default_data_provider="Museum Wiesbaden",
        multi_value_separator=";",
    )
    cells = {"Inventarnummer": "M 12", "Titel": "Stillleben", "Künstler": "A; B", "image_url": "x"}
    cells["Geändert"] = "2024-03-01T10:00:00Z"
    assert map_csv_row(cells, columns) == {
        "id": "M 12",
        "title": ["Stillleben"],
        "dcTitleLangAware": {"def": ["Stillleben"]},
        "dcCreator": ["A", "B"],
        "dataProvider": ["Museum Wiesbaden"],
        "timestamp_update": "2024-03-01T10:00:00Z",
    }


def test_record_ids_are_collection_namespaced_and_safe() -> None:
    assert csv_record_id("rijks", "SK-C-5") == "csv:rijks:SK-C-5"
    assert csv_record_id("rijks", "M 12?x=1#a") == "csv:rijks:M%2012%3Fx=1%23a"


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("id,title,date", ","), ("id;title;date", ";"), ("id\ttitle\tdate", "\t"), ("id", ",")],
)
def test_the_delimiter_is_the_one_the_header_uses(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


# --- reading ---------------------------------------------------------------------------


def test_bom_semicolons_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid;title;date\r\n"
        b'1;"Two\r\nlines; one cell";1642\r\n'
        b"\r\n"
        b"2;Caf\xc3\xa9;1900\r\n"
    )
    rows = read(path)
    assert rows == [
        CsvRow(2, "1", {"id": "1", "title": "Two\r\nlines; one cell", "date": "1642"}, 31),
        CsvRow(5, "2", {"id": "2", "title": "Café", "date": "1900"}, 14),
    ]


def test_bad_rows_are_reported_with_line_reason_and_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"id,title,date\n"
        b"1,ok,1642\n"
        b"2,too few\n"
        b",no id,1700\n"
        b"1,again,1800\n"
        b'3,"bad"quote,1900\n'
        b"4,Caf\xe9,1900\n"
        b"5,fine,2000\n"
    )
    rows = read(path)
    assert [r.row_id for r in rows if isinstance(r, CsvRow)] == ["1", "5"]
    bad = [r for r in rows if isinstance(r, BadCsvRow)]
    assert [(r.line, r.row_id) for r in bad] == [(3, "2"), (4, None), (5, "1"), (6, None), (7, "4")]
    assert bad[0].reason == (
        "2 cells where the header has 3 columns; quote cells that contain the delimiter ','"
    )
    assert bad[1].reason == "no id in column 'id'; every row needs one"
    assert bad[2].reason == "id '1' repeats the row at line 2; ids must be unique"
    assert bad[3].reason.startswith("not valid CSV:")
    assert bad[4].reason.startswith("bytes that are not utf-8; declare the file's encoding")
    assert bad[0].raw == "2,too few\n"
    assert bad[4].raw == "4,Caf\\xe9,1900\n" and bad[4].raw_base64 == "NCxDYWbpLDE5MDAK"

    message = dead_letter_row(path, "rijks", bad[4])
    assert message.record_id == "csv:rijks:4"
    assert message.payload["reasons"] == [f"{path}, line 7: {bad[4].reason}"]
    assert message.payload["raw_base64"] == "NCxDYWbpLDE5MDAK"
    assert dead_letter_row(path, "rijks", bad[1]).record_id.startswith("csv:unidentified:")


def test_a_fallback_or_declared_encoding_reads_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"id,title\n1,Caf\xe9 \x80 1\n2,Caf\xc3\xa9\n")
    with_fallback = read(path, fallback_encoding="cp1252")
    assert [r.cells["title"] for r in with_fallback if isinstance(r, CsvRow)] == [
        "Café € 1",
        "Café",
    ]
    declared = read(path, encoding="cp1252")
    assert [r.cells["title"] for r in declared if isinstance(r, CsvRow)] == [
        "Café € 1",
        "CafÃ©",  # declared cp1252, so UTF-8 bytes read as cp1252: as the caller said
    ]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"", {}, "the file is empty"),
        (b"title,date\n1,2\n", {}, r"no 'id' column \(the header has \['title', 'date'\]\)"),
        (b"id,title,Title\n", {}, r"header repeats the columns \['title'\]"),
        (b"id,t\xe9tel\n", {}, "the header line is not utf-8"),
        (b"id\n", {"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ],
)
def test_an_unreadable_export_is_refused_as_a_whole(
    tmp_path: Path, content: bytes, options: dict[str, str], message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(CsvDropError, match=message):
        read(path, **options)


def test_row_state_records_and_forgets_per_collection(tmp_path: Path) -> None:
    state = CsvRowState(tmp_path / "state.sqlite")
    try:
        state.apply("a", [("1", "h1"), ("2", "h2")], [])
        state.apply("b", [("1", "x1")], [])
        state.apply("a", [("2", "h2b")], ["1"])
        assert state.hashes("a") == {"2": "h2b"}
        assert state.hashes("b") == {"1": "x1"}
    finally:
        state.close()


# --- publishing on the real broker ---------------------------------------------------


def by_time(reader: TopicReader, topic: str) -> list[tuple[str, dict]]:
    """The topic's messages in the order they were produced (keys spread over partitions)."""
    messages = sorted(reader.messages(topic), key=lambda m: m.timestamp)
    return [(m.key, m.value) for m in messages]


@pytest.fixture
def topics(live_settings: Settings) -> tuple[str, str]:
    topic = f"heritage.test.csv.{uuid.uuid4().hex[:8]}"
    ensure_topics(live_settings, (topic, f"{topic}.dlq"))
    return topic, f"{topic}.dlq"


@pytest.mark.integration
def test_reruns_publish_only_changes_and_tombstones(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path, topics: tuple[str, str]
) -> None:
    topic, dlq = topics
    path = tmp_path / "rijks.csv"
    layout = producer_layout(live_settings, tmp_path, topic, dlq)

    def run() -> tuple[int, int, int, int, int]:
        r = publish_csv(live_settings, layout, path, "rijks", progress=False)
        return r.new, r.changed, r.removed, r.unchanged, r.published

    write_csv(path, ROWS)
    assert run() == (5, 0, 0, 0, 5)
    assert run() == (0, 0, 0, 5, 0)

    changed = dict(ROWS)
    changed["2"] = "2,Het melkmeisje,Johannes Vermeer,1658,,,Rijksmuseum,IMAGE,nl\n"
    changed["6"] = "6,De Schutterij,,1650,,,Rijksmuseum,IMAGE,nl\n"
    del changed["4"]
    write_csv(path, changed)
    assert run() == (1, 1, 1, 3, 3)
    assert run() == (0, 0, 0, 5, 0)

    # Partitions interleave on consumption; the envelopes' ingest times give publish order.
    messages = sorted(read_topic(topic), key=lambda m: m[1]["ingested_at"])
    assert len(messages) == 8
    for key, envelope in messages:
        assert key == envelope["record_id"] and envelope["source"] == "csv"
    first, last = messages[:5], messages[5:]
    assert {key for key, _ in first} == {f"csv:rijks:{i}" for i in "12345"}
    by_first_key = dict(first)
    assert by_first_key["csv:rijks:1"]["payload"]["title"] == "De Nachtwacht"  # as received
    assert by_first_key["csv:rijks:1"]["record"]["rights"] == [
        "http://rightsstatements.org/vocab/NoC-NC/1.0/"
    ]
    by_key = {key: envelope for key, envelope in last}
    assert set(by_key) == {"csv:rijks:2", "csv:rijks:6", "csv:rijks:4"}
    assert by_key["csv:rijks:2"]["record"]["dcDate"] == ["1658"]
    assert by_key["csv:rijks:6"]["deleted"] is False
    tombstone = by_key["csv:rijks:4"]
    assert tombstone["deleted"] is True
    assert tombstone["payload"] == {"id": "4", "collection": "rijks"}
    assert tombstone["record"]["id"] == "4" and tombstone["record"]["timestamp_update"]
    assert read_topic(dlq) == []


@pytest.mark.integration
def test_a_restored_or_reverted_row_is_sent_again(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path, topics: tuple[str, str]
) -> None:
    """The publish ledger remembers every pair it confirmed; the row state must win."""
    topic, dlq = topics
    path = tmp_path / "rijks.csv"
    layout = producer_layout(live_settings, tmp_path, topic, dlq)

    def publish(rows: dict[str, str]) -> int:
        write_csv(path, rows)
        result = publish_csv(live_settings, layout, path, "rijks", progress=False)
        return result.published

    without_4 = {k: v for k, v in ROWS.items() if k != "4"}
    edited_2 = dict(ROWS, **{"2": ROWS["2"].replace("c. 1660", "1658")})
    assert publish(ROWS) == 5
    assert publish(without_4) == 1  # tombstone for 4
    assert publish(ROWS) == 1  # 4 restored with its old content
    assert publish(edited_2) == 1
    assert publish(ROWS) == 1  # 2 reverted to its old content
    keys = [key for key, _ in by_time(read_topic, topic)]
    assert keys[5:] == ["csv:rijks:4", "csv:rijks:4", "csv:rijks:2", "csv:rijks:2"]


@pytest.mark.integration
def test_bad_rows_go_to_the_dead_letter_topic_and_withhold_tombstones(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path, topics: tuple[str, str]
) -> None:
    topic, dlq = topics
    path = tmp_path / "rijks.csv"
    state_path = tmp_path / ROW_STATE_FILE
    layout = producer_layout(live_settings, tmp_path, topic, dlq)
    write_csv(path, ROWS)
    publish_csv(live_settings, layout, path, "rijks", progress=False)

    # Row 4 lost its id and row 5 has a cell too many: neither may be read as "removed".
    broken = dict(ROWS, **{"4": ROWS["4"][1:], "5": ROWS["5"].replace("\n", ",extra\n")})
    write_csv(path, broken)
    result = publish_csv(live_settings, layout, path, "rijks", progress=False)
    assert (result.rows, result.removed, result.rejected, result.published) == (3, 0, 2, 0)
    assert result.tombstones_withheld is True
    assert [(row.line, row.row_id) for row in result.bad_rows] == [(5, None), (6, "5")]

    dead = read_topic(dlq)
    assert len(dead) == 2
    for key, envelope in dead:
        assert key == envelope["record_id"]
        assert envelope["payload"]["collection"] == "rijks"
        assert envelope["payload"]["file"] == str(path)
    by_line = {envelope["payload"]["line"]: (key, envelope) for key, envelope in dead}
    assert by_line[5][0].startswith("csv:unidentified:")
    key, envelope = by_line[6]
    assert key == "csv:rijks:5"
    assert envelope["payload"]["raw"] == broken["5"]
    assert envelope["payload"]["reasons"] == [
        f"{path}, line 6: 10 cells where the header has 9 columns; quote cells that contain "
        "the delimiter ','"
    ]

    state = CsvRowState(state_path)
    try:
        assert set(state.hashes("rijks")) == {"1", "2", "3", "4", "5"}
    finally:
        state.close()


@pytest.mark.integration
def test_an_empty_export_does_not_delete_the_collection(
    live_settings: Settings, tmp_path: Path, topics: tuple[str, str]
) -> None:
    topic, dlq = topics
    path = tmp_path / "rijks.csv"
    layout = producer_layout(live_settings, tmp_path, topic, dlq)
    write_csv(path, ROWS)
    publish_csv(live_settings, layout, path, "rijks", progress=False)
    write_csv(path, {})
    with pytest.raises(CsvDropError, match="would delete all 5 records of collection 'rijks'"):
        publish_csv(live_settings, layout, path, "rijks", progress=False)
    result = publish_csv(
        live_settings, layout, path, "rijks", allow_empty_export=True, progress=False
    )
    assert (result.removed, result.published) == (5, 5)
