"""`heritage validate` and the producers' own check: each source file's records read and mapped
as their producer does, and judged by the cleanse stage's rules, with no service running."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from heritage.cli import main
from heritage.producers.europeana_client import read_search_page, sort_page_items
from heritage.producers.kafka_publisher import is_records_topic
from heritage.producers.record_file_validation import (
    CsvReading,
    RecordCheck,
    ValidationInputError,
    ValidationReport,
    check_file,
    detect_format,
    validate_paths,
)
from heritage.settings import Secret

# A museum's collection export as it comes out of its collection management system.
MUSEUM_CSV = (
    "id;title;creator;date;rights;image_url;data_provider;type;language\n"
    "SK-A-1718;Winterlandschap met schaatsers;Hendrick Avercamp;ca. 1608;"
    "https://creativecommons.org/publicdomain/mark/1.0/;https://example.org/a.jpg;Rijksmuseum;"
    "IMAGE;nld\n"
    "SK-A-2860;Het Straatje;Johannes Vermeer;1658-02-30;http://rightsstatements.org/vocab/InC/1.0/;"
    "https://example.org/b.jpg;Rijksmuseum;IMAGE;nl\n"
    ";Zonder nummer;;;;;;;\n"
    "SK-A-4118;Stilleven;;1650;alle rechten voorbehouden;;Rijksmuseum;schilderij;Nederlands\n"
)
# The same kind of export as a German spreadsheet saves it: Windows-1252, ';' between fields.
SPREADSHEET_CSV = (
    "id;title;creator;date;rights;image_url;data_provider;type;language\r\n"
    "KM-1;Stillleben mit Käse;Clara Peeters;1615;"
    "http://creativecommons.org/publicdomain/mark/1.0/;https://example.org/k.jpg;Städel Museum;"
    "IMAGE;de\r\n"
    "KM-2;Bildnis eines Goldschmieds, „Meister“;;1520;"
    "http://creativecommons.org/publicdomain/mark/1.0/;https://example.org/g.jpg;Städel Museum;"
    "IMAGE;de\r\n"
).encode("cp1252")
GOOD_ITEM: dict[str, Any] = {
    "id": "/90402/SK_A_1718",
    "type": "IMAGE",
    "title": ["Winter Landscape with Ice Skaters"],
    "dcCreator": ["Hendrick Avercamp"],
    "year": ["1608"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "edmIsShownBy": ["https://lh3.googleusercontent.com/skaters.jpg"],
    "dataProvider": ["Rijksmuseum"],
}
# A Search API page: one good item, one whose id is no Europeana id and whose type is missing.
SEARCH_PAGE = {
    "success": True,
    "itemsCount": 2,
    "totalResults": 2,
    "items": [GOOD_ITEM, dict(GOOD_ITEM, id="SK_A_1718", type=None)],
}
EDM_RECORD = """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dc="http://purl.org/dc/elements/1.1/"
         xmlns:edm="http://www.europeana.eu/schemas/edm/"
         xmlns:ore="http://www.openarchives.org/ore/terms/">
  <edm:ProvidedCHO rdf:about="http://data.example.org/item/42">
    <dc:title xml:lang="de">Bildnis einer jungen Frau</dc:title>
    <dc:date>Anfang 16. Jh.</dc:date>
    <edm:type>IMAGE</edm:type>
  </edm:ProvidedCHO>
  <ore:Aggregation rdf:about="http://data.example.org/aggregation/42">
    <edm:aggregatedCHO rdf:resource="http://data.example.org/item/42"/>
    <edm:dataProvider>Staatliche Kunsthalle Karlsruhe</edm:dataProvider>
    <edm:isShownBy rdf:resource="https://example.org/42.jpg"/>
    <edm:rights rdf:resource="http://creativecommons.org/publicdomain/zero/1.0/"/>
  </ore:Aggregation>
</rdf:RDF>
"""
OAI_LIST_RECORDS = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-01-05T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">https://repo.example.org/oai</request>
  <ListRecords>
    <record>
      <header><identifier>oai:repo.example.org:7</identifier>
        <datestamp>2025-12-01</datestamp></header>
      <metadata>
        <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
                   xmlns:dc="http://purl.org/dc/elements/1.1/">
          <dc:title>Karte von Baden</dc:title>
          <dc:type>Image</dc:type>
          <dc:date>1780</dc:date>
          <dc:rights>http://rightsstatements.org/vocab/NoC-NC/1.0/</dc:rights>
        </oai_dc:dc>
      </metadata>
    </record>
    <record>
      <header status="deleted"><identifier>oai:repo.example.org:8</identifier>
        <datestamp>2025-12-02</datestamp></header>
    </record>
  </ListRecords>
</OAI-PMH>
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_are_checked_with_file_and_line(tmp_path: Path) -> None:
    checks = check_file(write(tmp_path, "export.csv", MUSEUM_CSV))
    where = str(tmp_path / "export.csv")
    assert [(c.where, c.ok) for c in checks] == [
        (f"{where}:2", True),
        (f"{where}:3", False),
        (f"{where}:4", False),
        (f"{where}:5", False),
    ]
    assert checks[1].reasons == ("date '1658-02-30' is not a recognised date",)
    assert checks[2].reasons == ("no id in column 'id'; every row needs one",)
    assert checks[3].reasons == (
        "type 'schilderij' is not one of IMAGE, TEXT, SOUND, VIDEO, 3D",
        "rights 'alle rechten voorbehouden' is not a rightsstatements.org or creativecommons.org "
        "URI",
        "language 'nederlands' is not an ISO 639 code",
    )


def test_a_search_api_page_is_checked_item_by_item(tmp_path: Path) -> None:
    path = write(tmp_path, "page.json", json.dumps(SEARCH_PAGE))
    checks = check_file(path)
    assert [c.where for c in checks] == [f"{path}: /90402/SK_A_1718", f"{path}: SK_A_1718"]
    assert checks[0].ok
    assert checks[1].reasons == (
        "record has no id: a Europeana item needs `id` of the form /DATASET/LOCAL_ID",
        "type '' is not one of IMAGE, TEXT, SOUND, VIDEO, 3D",
    )


def test_a_single_item_and_a_list_of_items(tmp_path: Path) -> None:
    assert [c.ok for c in check_file(write(tmp_path, "item.json", json.dumps(GOOD_ITEM)))] == [True]
    items = write(tmp_path, "items.json", json.dumps([GOOD_ITEM, "not an item"]))
    checks = check_file(items)
    assert [c.ok for c in checks] == [True, False]
    assert checks[1].where == f"{items}: item 1"


def test_an_item_the_producer_refuses_is_reported_with_its_reason(tmp_path: Path) -> None:
    page = write(tmp_path, "page.json", json.dumps({"items": [dict(GOOD_ITEM, title=5)]}))
    [check] = check_file(page)
    assert not check.ok
    assert "field 'title' is a number, expected a list of strings" in check.reasons[0]


def test_a_deeply_nested_item_fails_alone_as_the_producer_dead_letters_it(
    tmp_path: Path,
) -> None:
    deep_item = "[" * 100_000 + "]" * 100_000
    good, other = json.dumps(GOOD_ITEM), json.dumps(dict(GOOD_ITEM, id="/90402/SK_A_4118"))
    text = f'{{"success": true, "items": [{good}, {deep_item}, {other}], "nextCursor": null}}'
    page = write(tmp_path, "page.json", text)
    checks = check_file(page)
    assert [(c.where, c.ok) for c in checks] == [
        (f"{page}: /90402/SK_A_1718", True),
        (f"{page}: item 1", False),
        (f"{page}: /90402/SK_A_4118", True),
    ]
    [reason] = checks[1].reasons
    assert reason.startswith(
        "europeana item 2: arrays and objects nest 100000 levels deep in it, more than the 32 "
    )
    harvested = sort_page_items(read_search_page(text, Secret(""), "*").items, "*")
    assert [r.record_id for r in harvested.records] == [
        "europeana:/90402/SK_A_1718",
        "europeana:/90402/SK_A_4118",
    ]
    assert [letter.payload["position"] for letter in harvested.dead_letters] == [2]
    deep_list = write(tmp_path, "deep.json", deep_item)
    [alone] = check_file(deep_list)
    assert alone.where == f"{deep_list}: item 0" and "nest 99999 levels" in alone.reasons[0]


@pytest.mark.parametrize(
    ("start", "found"),
    [
        (codecs.BOM_UTF8 + b'\r\n {"id": "/1/a"}', "europeana-json"),
        (b"\n" + codecs.BOM_UTF8 + b'[{"id": "/1/a"}]', "europeana-json"),
        (b'\xbf{"id": "/1/a"}', None),
        (b"\xef\xbb[]", None),
    ],
    ids=["bom-then-space", "space-then-bom", "stray-bom-byte", "part-of-a-bom"],
)
def test_json_is_told_after_a_byte_order_mark_not_after_stray_bytes(
    tmp_path: Path, start: bytes, found: str | None
) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(start)
    assert detect_format(path) == found


def test_csv_is_read_with_the_encoding_and_delimiter_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(SPREADSHEET_CSV)
    assert main(["validate", str(export)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{export}:2: bytes that are not utf-8; declare the file's encoding (encoding=... or "
        "fallback_encoding=...)"
    )
    assert main(["validate", "--encoding", "cp1252", "--delimiter", ";", str(export)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"OK {export}:2",
        f"OK {export}:3",
        "2 records: 2 ok, 0 invalid",
    ]
    assert main(["validate", "--fallback-encoding", "cp1252", str(export)]) == 0
    capsys.readouterr()
    [check] = check_file(export, csv_reading=CsvReading("cp1252", delimiter=","))
    assert "no 'id' column" in check.reasons[0]


def test_report_lines_show_reasons_then_warnings() -> None:
    report = ValidationReport(
        [
            RecordCheck("a.csv:2"),
            RecordCheck("a.csv:3", ("no `dataProvider`",), ("field 'id' is a number",)),
        ]
    )
    assert list(report.lines()) == [
        "OK a.csv:2",
        "a.csv:3: no `dataProvider`",
        "a.csv:3: warning: field 'id' is a number",
        "2 records: 1 ok, 1 invalid",
    ]


def test_an_edm_record(tmp_path: Path) -> None:
    path = write(tmp_path, "item42.rdf", EDM_RECORD)
    assert detect_format(path) == "edm"
    [check] = check_file(path)
    assert check.where == f"{path}: http://data.example.org/item/42"
    assert check.reasons == ("date 'Anfang 16. Jh.' is not a recognised date",)


def test_an_oai_pmh_response_is_mapped_by_its_metadata_namespace(tmp_path: Path) -> None:
    path = write(tmp_path, "page1.xml", OAI_LIST_RECORDS)
    assert detect_format(path) == "oai-xml"
    checks = check_file(path)
    assert [c.where for c in checks] == [
        f"{path}: oai:repo.example.org:7",
        f"{path}: oai:repo.example.org:8 (deleted)",
    ]
    # Dublin Core has no data provider: cleanse would reject the record for that alone.
    assert checks[0].reasons == ("no `dataProvider`",)
    assert checks[1].ok


def test_an_unreadable_file_is_one_failed_check_naming_it(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.json", '{"items": [')
    [check] = check_file(broken)
    assert check.where == str(broken) and check.reasons[0].startswith("cannot be read as")
    truncated = write(tmp_path, "truncated.json", '[{"id": "/90402/SK_A_1718"')
    [check] = check_file(truncated)
    assert check.reasons == (
        "cannot be read as europeana-json: not JSON at character 27: brackets do not match at "
        "the end of the text (truncated?)",
    )
    unknown = write(tmp_path, "notes.xml", "<notes/>")
    [check] = check_file(unknown)
    assert "cannot tell the format" in check.reasons[0] and "--format" in check.reasons[0]


def test_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.txt", "s3cr3t")
    xxe = write(
        tmp_path,
        "xxe.xml",
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>',
    )
    checks = check_file(xxe, "edm")
    assert not any("s3cr3t" in c.where or any("s3cr3t" in r for r in c.reasons) for c in checks)


def test_lido_records_carry_content_problems_and_cleanse_reasons(corpus_dir: Path) -> None:
    checks = check_file(corpus_dir / "lido" / "invalid" / "DDB_LIDO_record_2.xml")
    [check] = checks
    assert any("no lidoRecID" in r for r in check.reasons)
    assert "no title in `title` or `dcTitleLangAware`" in check.reasons
    [good] = check_file(corpus_dir / "lido" / "valid" / "Ethnologisches_Museum.xml")
    assert good.ok


def test_folders_are_searched_and_paths_must_exist(tmp_path: Path) -> None:
    write(tmp_path, "export.csv", MUSEUM_CSV)
    write(tmp_path, "page.json", json.dumps(SEARCH_PAGE))
    write(tmp_path, "README.md", "not a source file")
    report = validate_paths([tmp_path])
    assert report.summary() == "6 records: 2 ok, 4 invalid"
    with pytest.raises(ValidationInputError, match="no such file or folder"):
        validate_paths([tmp_path / "missing.csv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationInputError, match="holds no"):
        validate_paths([tmp_path / "empty"])


def test_the_command_prints_each_record_and_exits_by_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "item.json", json.dumps(GOOD_ITEM))
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"OK {good}: /90402/SK_A_1718",
        "1 record: 1 ok, 0 invalid",
    ]
    export = write(tmp_path, "export.txt", MUSEUM_CSV)
    assert main(["validate", "--format", "csv", "--collection", "rijksmuseum", str(export)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"{export}:3: date '1658-02-30' is not a recognised date" in out
    assert out[-1] == "4 records: 1 ok, 3 invalid"
    assert main(["validate", str(tmp_path / "missing.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_records_topics_are_told_by_name() -> None:
    assert is_records_topic("heritage.records")
    assert is_records_topic("heritage.records.t1a2b3")
    assert not is_records_topic("heritage.dlq")
    assert not is_records_topic("heritage.annotations")
    assert not is_records_topic("heritage.recordsx")
