"""The parsing-layer verdict (heritage.record_contract) equals the cleanse stage's verdict,
reasons included, record by record: on the generated sample collection with its malformed
records, on the shared corpus as each producer maps it, and on a table of edge cases.

Raw rows are built as the raw stage builds them: the envelope a producer publishes, as
Kafka message bytes, through ``with_envelope_columns``; then ``validate_records``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from lxml import etree
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from heritage.producers.lido_drop import LidoRecordRead, read_lido_file
from heritage.producers.metadata_mapping import LIDO_NS, NS
from heritage.producers.oai_pmh_harvester import source_record_for
from heritage.producers.oai_pmh_mapping_pool import map_metadata
from heritage.producers.oai_pmh_protocol import (
    OaiHeader,
    OaiRecord,
    RecordsPage,
    parse_response,
    xml_parser,
)
from heritage.producers.simulators.sample_collection import (
    MALFORMED_KINDS,
    generate_sample_collection,
)
from heritage.record_contract import classify_envelope
from heritage.record_model import Envelope, SourceRecord, envelope_for
from heritage.spark_apps.raw_ingest import with_envelope_columns
from heritage.spark_apps.record_validation import validate_records

# The columns of Spark's Kafka source that the raw stage reads.
KAFKA_MESSAGES = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
    ]
)
PREFIX_BY_NAMESPACE = {
    NS["oai_dc"]: "oai_dc",
    LIDO_NS: "lido",
    NS["rdf"]: "edm",
    NS["gmd"]: "iso19139",
}


def envelope(source: str, item: SourceRecord) -> Envelope:
    return envelope_for(source, item, "parity", "2026-01-01T00:00:00.000000Z")


def cleanse_reasons(spark: SparkSession, envelopes: list[Envelope]) -> list[tuple[str, ...]]:
    """The reasons the cleanse stage gives each envelope, in order."""
    moment = dt.datetime(2026, 1, 1)
    rows = [
        (e.record_id.encode(), e.to_json().encode("utf-8"), "heritage.records", 0, offset, moment)
        for offset, e in enumerate(envelopes)
    ]
    raw = with_envelope_columns(spark.createDataFrame(rows, KAFKA_MESSAGES))
    validated = validate_records(raw).select("kafka_offset", "reasons").collect()
    by_offset = {row["kafka_offset"]: tuple(row["reasons"]) for row in validated}
    return [by_offset[offset] for offset in range(len(envelopes))]


def assert_parity(spark: SparkSession, envelopes: list[Envelope]) -> None:
    expected = cleanse_reasons(spark, envelopes)
    actual = [classify_envelope(e).reasons for e in envelopes]
    verdicts = [
        (e.record_id, a, x)
        for e, a, x in zip(envelopes, actual, expected, strict=True)
        if bool(a) != bool(x)
    ]
    assert not verdicts, f"verdicts differ (record, parsing layer, cleanse): {verdicts}"
    reasons = [
        (e.record_id, a, x) for e, a, x in zip(envelopes, actual, expected, strict=True) if a != x
    ]
    assert not reasons, f"reasons differ (record, parsing layer, cleanse): {reasons}"


def test_sample_collection_verdicts_match_cleanse(spark: SparkSession) -> None:
    collection = generate_sample_collection(200, seed=3, delete_fraction=0.05)
    envelopes = [
        envelope("europeana", SourceRecord(m.record_id, m.payload, deleted=m.deleted))
        for m in collection.messages
    ]
    assert set(collection.manifest.malformed.values()) == set(MALFORMED_KINDS)
    assert any(e.deleted for e in envelopes)
    assert_parity(spark, envelopes)
    invalid = {e.record_id for e in envelopes if not classify_envelope(e).valid}
    assert invalid == set(collection.manifest.malformed)


def lido_envelopes(folder: Path) -> list[Envelope]:
    found = []
    for path in sorted(folder.glob("*.xml")):
        for item in read_lido_file(path):
            if isinstance(item, LidoRecordRead):
                found.append(envelope("lido", SourceRecord(item.record_id, item.xml, item.record)))
    return found


def test_lido_corpus_verdicts_match_cleanse(spark: SparkSession, corpus_dir: Path) -> None:
    envelopes = lido_envelopes(corpus_dir / "lido" / "valid")
    envelopes += lido_envelopes(corpus_dir / "lido" / "invalid")
    assert len(envelopes) >= 20
    assert_parity(spark, envelopes)


def oai_envelopes(path: Path) -> list[Envelope]:
    page = parse_response(path.read_bytes())
    assert isinstance(page, RecordsPage)
    found = []
    for record in page.records:
        namespace = "" if record.metadata is None else etree.QName(record.metadata).namespace
        prefix = PREFIX_BY_NAMESPACE.get(namespace or "", "oai_dc")
        mapped = source_record_for(
            record,
            "test.example.com",
            "Sickle test repository",
            map_metadata(prefix, record.metadata),
        )
        found.append(envelope("oai", mapped.source_record))
    return found


def test_oai_pmh_corpus_verdicts_match_cleanse(spark: SparkSession, corpus_dir: Path) -> None:
    folder = corpus_dir / "oaipmh" / "sickle"
    envelopes = [
        e
        for name in (
            "ListRecords",
            "ListRecords2",
            "ListRecords3",
            "ListRecords4",
            "GetRecord",
            "GetRecord_utf8test",
        )
        for e in oai_envelopes(folder / f"{name}.xml")
    ]
    assert any(e.deleted for e in envelopes) and any(not e.deleted for e in envelopes)
    assert_parity(spark, envelopes)


def test_iso19139_corpus_verdicts_match_cleanse(spark: SparkSession, corpus_dir: Path) -> None:
    envelopes = []
    for path in sorted((corpus_dir / "iso19139").glob("*.xml")):
        root = etree.fromstring(path.read_bytes(), xml_parser())
        header = OaiHeader(identifier=f"oai:iso:{path.stem}", datestamp="2024-05-01")
        record = OaiRecord(header, root, etree.tostring(root, encoding="unicode"))
        mapped = source_record_for(record, "iso", "Catalogue", map_metadata("iso19139", root))
        envelopes.append(envelope("oai", mapped.source_record))
    assert len(envelopes) == 6
    assert_parity(spark, envelopes)


GOOD: dict[str, Any] = {
    "id": "/1/a",
    "type": "IMAGE",
    "title": ["Winter Landscape"],
    "rights": ["http://rightsstatements.org/vocab/InC/1.0/"],
    "dataProvider": ["Rijksmuseum"],
}
DATES = [
    "1665", "0000", "1665\n", " 1665 ", "\t1665", "c. 1665", "CIRCA1665", "ca 1665\n", "c.1665",
    "Um 1950", "um 1480 oder 1482/1485", "vers 1650", "Hacia 1600", "umm 1650",
    "1660-1670", "1670-1660", "1660 \u2013 1670", "1660/1670", "1665-03-01", "1665-02-29",
    "1664-02-29", "1665-02-30", "1665-13-01", "1665-00-10", "1665-03-01\n", "01/03/1665",
    "31/02/1665", "29/02/1600", "29/02/1700", "1665-03-01T", "1665-03-01T10", "1665-03-01T10:3",
    "1665-03-01T10:30:00", "1665-03-01T10:30:00Z", "1665-03-01T10:30:00.123Z",
    "1665-03-01T10:30:00.1234567Z", "1665-03-01T10:30:00.", "1665-03-01T10:30:00+01:00",
    "1665-03-01T10:30:00+1:00", "1665-03-01T10:30:00+01:0", "1665-03-01T10:30:00+0100",
    "1665-03-01T10:30:00+19:00", "1665-03-01T10:30:00 Europe/Paris", "1665-03-01T10:30:00UTC",
    "1665-03-01T10:30:00GMT+2", "1665-03-01T10:30:00 CET", "1665-03-01T10:30:00 Mars/Base",
    "1665-03-01T10:30:00 PST", "1665-03-01T10:30Z", "1665-03-01T24:00:00", "1665-03-01T10:60:00",
    "1665-03-01T10:30:00\n", "1665-03-01Tgarbage", "1665-02-30T10:00:00Z", "um 1600",
    "\u0661\u0666\u0666\u0665", "17th century", "",
]  # fmt: skip
EDGE_RECORDS: list[tuple[str, Any]] = [
    *[("dcDate " + repr(d), dict(GOOD, dcDate=[d])) for d in DATES],
    ("year only", dict(GOOD, year=["1665"])),
    ("blank dcDate, bad year", dict(GOOD, dcDate=["  "], year=["x"])),
    ("id a number", dict(GOOD, id=5)),
    ("id null", dict(GOOD, id=None)),
    ("id empty", dict(GOOD, id="")),
    ("title a string", dict(GOOD, title="Winter")),
    ("title numbers", dict(GOOD, title=[1, "x"])),
    ("title blanks", dict(GOOD, title=[None, " "])),
    ("title tab", dict(GOOD, title=["\t"])),
    ("titles by language", {**GOOD, "title": None, "dcTitleLangAware": {"en": ["Winter"]}}),
    ("titles, one null", {**GOOD, "title": [], "dcTitleLangAware": {"en": None, "nl": ["W"]}}),
    ("titles by language, a string", {**GOOD, "title": [], "dcTitleLangAware": {"en": "W"}}),
    ("type a list", dict(GOOD, type=["IMAGE"])),
    ("type padded lower case", dict(GOOD, type=" video ")),
    ("type 3d", dict(GOOD, type="3d")),
    ("type tab", dict(GOOD, type="\tIMAGE")),
    ("rights a string", dict(GOOD, rights="http://rightsstatements.org/vocab/InC/1.0/")),
    ("rights legacy", dict(GOOD, rights=["https://www.europeana.eu/rights/rr-f/"])),
    ("rights deed", dict(GOOD, rights=["https://creativecommons.org/licenses/by-sa/4.0/deed.de"])),
    ("rights page", dict(GOOD, rights=["https://rightsstatements.org/page/NoC-US/1.0/?language=en"])),
    ("rights tab", dict(GOOD, rights=["http://creativecommons.org/publicdomain/mark/1.0/\t"])),
    ("rights upper case host", dict(GOOD, rights=["HTTPS://WWW.creativecommons.org/publicdomain/zero/1.0"])),
    ("rights DDB", dict(GOOD, rights=["http://www.deutsche-digitale-bibliothek.de/lizenzen/rv-fz/"])),
    ("image url upper case scheme", dict(GOOD, edmIsShownBy=["HTTP://example.org/a.jpg"])),
    ("image url with space", dict(GOOD, edmIsShownBy=["http://example.org/a b.jpg"])),
    ("image url javascript", dict(GOOD, edmIsShownBy=["javascript:alert(1)"])),
    ("image url not a list", dict(GOOD, edmIsShownBy="ftp://x")),
    ("languages", dict(GOOD, language=[" NL ", None, "en\r"])),
    ("language a name", dict(GOOD, language=["Dutch (Netherlands)"])),
    ("language four letters", dict(GOOD, language=["deut"])),
    ("data provider a string", dict(GOOD, dataProvider="Rijksmuseum")),
    ("all wrong", {"type": "PAINTING", "rights": ["x"], "dcDate": ["x"], "language": ["x1"]}),
    ("empty object", {}),
]  # fmt: skip


def test_edge_cases_match_cleanse(spark: SparkSession) -> None:
    envelopes = [
        envelope("europeana", SourceRecord("europeana:/1/a", record)) for _, record in EDGE_RECORDS
    ]
    envelopes += [
        envelope("europeana", SourceRecord("europeana:unidentified:ab12", GOOD)),
        envelope(
            "europeana", SourceRecord("europeana:unidentified:ab12", {"id": "x"}, deleted=True)
        ),
        envelope("europeana", SourceRecord("europeana:/1/a", {"id": "/1/a"}, deleted=True)),
        envelope("europeana", SourceRecord("europeana:/1/a", '{"id": "/1/a", "tit')),
        envelope("europeana", SourceRecord("europeana:/1/a", [GOOD])),
        envelope("europeana", SourceRecord("europeana:/1/a", "<lido:lido/>")),
        envelope("lido", SourceRecord("lido:a", "<lido:lido/>", record=GOOD)),
        envelope("csv", SourceRecord("csv:c:1", {"id": "1"}, record={})),
    ]
    assert_parity(spark, envelopes)
