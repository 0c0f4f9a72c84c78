"""LIDO drops: reading, rejecting and keying on the corpus files; publishing on the real broker."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from lxml import etree
from producer_layouts import producer_layout
from topic_reader import TopicReader

from heritage.kafka_topics import ensure_topics
from heritage.producers import lido_drop
from heritage.producers.lido_drop import (
    LidoDropError,
    LidoFileFailure,
    LidoRecordRead,
    dead_letter_record,
    lido_files,
    lido_record_id,
    publish_lido,
    read_lido_file,
)
from heritage.settings import Settings

# A record valid against the LIDO XSD and the content rules; lines continued with a backslash
# keep it at ten lines, which the line numbers below count on.
RECORD = """<lido:lido xmlns:lido="http://www.lido-schema.org">
  <lido:lidoRecID lido:type="local">{id}</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="en"><lido:objectClassificationWrap>\
<lido:objectWorkTypeWrap><lido:objectWorkType><lido:term>jug</lido:term></lido:objectWorkType>\
</lido:objectWorkTypeWrap></lido:objectClassificationWrap>\
<lido:objectIdentificationWrap><lido:titleWrap>
    <lido:titleSet><lido:appellationValue>Jug {id}</lido:appellationValue></lido:titleSet>
  </lido:titleWrap></lido:objectIdentificationWrap></lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="en"><lido:recordWrap>\
<lido:recordID lido:type="local">{id}</lido:recordID>\
<lido:recordType><lido:term>item</lido:term></lido:recordType><lido:recordSource>\
<lido:legalBodyName><lido:appellationValue>Museum</lido:appellationValue></lido:legalBodyName>\
</lido:recordSource><lido:recordRights>
    <lido:rightsType><lido:conceptID lido:type="http://terminology.lido-schema.org/lido00099"
    >http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
  </lido:recordRights></lido:recordWrap></lido:administrativeMetadata>
</lido:lido>"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def items(path: Path, **options: int) -> list[LidoRecordRead | LidoFileFailure | str]:
    return list(read_lido_file(path, **options))


def element(xml: str) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(xml.encode(), parser)


# --- reading the corpus ---------------------------------------------------------------


def test_every_valid_file_yields_publishable_records(corpus_dir: Path) -> None:
    files = lido_files([corpus_dir / "lido/valid"])
    assert len(files) == 17
    records = [item for path in files for item in items(path)]
    assert len(records) == 21
    for record in records:
        assert isinstance(record, LidoRecordRead), record
        assert record.problems == [], (record.file.name, record.problems)
        assert record.record is not None and record.record["title"]
        assert record.record_id.startswith("lido:") and ":unidentified:" not in record.record_id
        assert not any(c.isspace() or c in "?#" for c in record.record_id), record.record_id
        assert record.xml.startswith("<lido:lido ") and record.xml.endswith("</lido:lido>")


def test_every_invalid_file_is_rejected_with_reasons(corpus_dir: Path) -> None:
    files = lido_files([corpus_dir / "lido/invalid"])
    assert [f.name for f in files] == [
        "DDB_LIDO_record_1.xml",
        "DDB_LIDO_record_2.xml",
        "graphics_LIDO_record.xml",
    ]
    for path in files:
        (record,) = items(path)
        assert isinstance(record, LidoRecordRead)
        assert record.problems, path.name
        message = dead_letter_record(record)
        assert message.payload["reasons"] == record.problems
        assert message.payload["file"] == str(path)
        assert message.payload["xml"] == record.xml
        assert message.payload["stage"] == "lido-drop"
    (no_id,) = items(corpus_dir / "lido/invalid/DDB_LIDO_record_2.xml")
    assert isinstance(no_id, LidoRecordRead)
    assert no_id.record_id.startswith("lido:unidentified:")


def test_record_ids_are_source_namespaced_and_safe(corpus_dir: Path) -> None:
    def first_id(name: str) -> str:
        record = items(corpus_dir / "lido/valid" / name)[0]
        assert isinstance(record, LidoRecordRead)
        return record.record_id

    assert first_id("DSM.xml") == "lido:DE-MUS-028013/289821"
    assert first_id("graphics_example_record.xml") == (
        "lido:http://ld.zdb-services.de/resource/organisations/DE-MUS-079214:"
        "DE-MUS-079214/lido/05091715,T,001"
    )
    assert first_id("Deutsche_Fotothek.xml") == (
        "lido:Deutsche%20Fotothek:DE-2396_33124388_df_hauptkatalog_0355520"
    )
    with_query = element(
        '<lido xmlns="http://www.lido-schema.org" xmlns:l="http://www.lido-schema.org">'
        '<lidoRecID l:source="https://museum.example.org/oai?apikey=SECRET#x"> a b?c </lidoRecID>'
        "</lido>"
    )
    assert lido_record_id(with_query) == "lido:https://museum.example.org/oai:a%20b%3Fc"
    assert lido_record_id(element('<lido xmlns="http://www.lido-schema.org"/>')) is None


def test_folders_are_searched_recursively_and_missing_paths_named(
    corpus_dir: Path, tmp_path: Path
) -> None:
    files = lido_files([corpus_dir / "lido", corpus_dir / "lido/valid/DSM.xml"])
    assert len(files) == 20  # DSM.xml once
    assert files == sorted(files)
    with pytest.raises(LidoDropError, match="no such file or folder"):
        lido_files([tmp_path / "missing"])
    (tmp_path / "notes.txt").write_text("not xml")
    assert lido_files([tmp_path]) == []


# --- refusing what cannot be read -----------------------------------------------------


def test_a_dtd_is_refused_and_no_entity_is_expanded(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "TOP-SECRET-VALUE")
    xxe = write(
        tmp_path / "xxe.xml",
        f'<?xml version="1.0"?><!DOCTYPE lido [<!ENTITY s SYSTEM "file://{secret}">]>'
        + RECORD.format(id="&s;"),
    )
    laughs = write(
        tmp_path / "laughs.xml",
        '<?xml version="1.0"?><!DOCTYPE lido [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        + RECORD.format(id="&c;"),
    )
    for path in (xxe, laughs):
        (failure,) = items(path)
        assert isinstance(failure, LidoFileFailure)
        assert "declares a DTD" in failure.reason
        message = json.dumps(dead_letter_record(failure).payload)
        assert "TOP-SECRET-VALUE" not in message
        assert "aaaaaaaaaaaaaaaaaaaa" not in message


def test_a_file_over_the_cap_is_refused_before_reading(corpus_dir: Path) -> None:
    (failure,) = items(corpus_dir / "lido/valid/DSM.xml", max_file_bytes=1000)
    assert isinstance(failure, LidoFileFailure)
    assert failure.reason.startswith("file is 11611 bytes, over the 1000-byte cap")


def test_a_file_broken_midway_keeps_the_records_before_the_break(tmp_path: Path) -> None:
    path = write(
        tmp_path / "broken.xml",
        '<lido:lidoWrap xmlns:lido="http://www.lido-schema.org">\n'
        + RECORD.format(id="r1")
        + RECORD.format(id="r2")
        + "<lido:lido><lido:lidoRecID>r3</lido:lido>",
    )
    *records, failure = items(path)
    assert [r.record_id for r in records if isinstance(r, LidoRecordRead)] == [
        "lido:r1",
        "lido:r2",
    ]
    assert isinstance(failure, LidoFileFailure)
    assert failure.reason.startswith("not well-formed XML at line 20: Opening and ending tag")
    assert failure.reason.endswith("(2 records before it were read)")
    assert failure.line == 20


def test_files_without_lido_are_rejected_as_a_whole(corpus_dir: Path) -> None:
    (not_lido,) = items(corpus_dir / "iso19139/iso19139_srv.xml")
    assert isinstance(not_lido, LidoFileFailure)
    assert not_lido.reason.startswith("no lido:lido record in the file")
    (not_xml,) = items(corpus_dir / "oaipmh/sickle/ListRecordsBroken.xml")
    assert isinstance(not_xml, LidoFileFailure)
    assert not_xml.reason.startswith("not well-formed XML at line 1")
    assert dead_letter_record(not_xml).payload["xml"] == "broken xml"


def test_oai_pmh_responses_yield_their_lido_and_name_everything_else(
    corpus_dir: Path, tmp_path: Path
) -> None:
    response = write(
        tmp_path / "ListRecords.xml",
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        '<record><header status="deleted"><identifier>oai:m:9</identifier></header></record>'
        "<record><header><identifier>oai:m:1</identifier></header><metadata>"
        + RECORD.format(id="r1")
        + "</metadata></record></ListRecords></OAI-PMH>",
    )
    deleted, record = items(response)
    assert deleted == "oai:m:9"
    assert isinstance(record, LidoRecordRead) and record.record_id == "lido:r1"
    assert record.problems == []

    # An oai_dc response dropped as LIDO: the deletion is seen, the record rejected.
    deleted, rejected = items(corpus_dir / "oaipmh/sickle/ListRecords.xml")
    assert deleted == "oai:test.example.com:1585310"
    assert isinstance(rejected, LidoRecordRead)
    assert rejected.problems[0].startswith(
        "OAI-PMH record metadata is {http://www.openarchives.org/OAI/2.0/oai_dc/}dc, not LIDO"
    )


def test_a_record_too_big_for_one_message_is_rejected_with_an_excerpt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lido_drop, "MAX_RECORD_XML_BYTES", 500)
    monkeypatch.setattr(lido_drop, "DEAD_LETTER_XML_EXCERPT_BYTES", 100)
    (record,) = items(write(tmp_path / "big.xml", RECORD.format(id="r1")))
    assert isinstance(record, LidoRecordRead)
    assert record.problems[-1].startswith("record XML is")
    payload = dead_letter_record(record).payload
    assert payload["xml_truncated"] is True and len(payload["xml"]) == 100


def test_memory_stays_flat_on_a_big_file(tmp_path: Path) -> None:
    """50 MB of LIDO parse in well under its own size: each record is freed once handled."""
    script = textwrap.dedent(
        """
        import resource, sys
        from pathlib import Path
        from heritage.producers.lido_drop import iter_lido_elements
        path = Path(sys.argv[1])
        record = ('<lido:lido><lido:lidoRecID>r{}</lido:lidoRecID><lido:descriptiveMetadata>'
                  '<lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet>'
                  '<lido:appellationValue>' + 'x' * 600 + '</lido:appellationValue>'
                  '</lido:titleSet></lido:titleWrap></lido:objectIdentificationWrap>'
                  '</lido:descriptiveMetadata></lido:lido>\\n')
        with path.open('w') as out:
            out.write('<lido:lidoWrap xmlns:lido="http://www.lido-schema.org">\\n')
            for i in range(60000):
                out.write(record.format(i))
            out.write('</lido:lidoWrap>\\n')
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count = sum(1 for _ in iter_lido_elements(path, 1 << 40))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(count, path.stat().st_size, after - before)
        path.unlink()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "big.xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    count, size, growth_kib = (int(v) for v in done.stdout.split())
    assert count == 60000 and size > 50_000_000
    assert growth_kib < 20 * 1024, f"peak memory grew {growth_kib} KiB reading {size} bytes"


# --- publishing on the real broker ----------------------------------------------------


@pytest.mark.integration
def test_lido_drop_publishes_then_a_rerun_publishes_nothing(
    live_settings: Settings, read_topic: TopicReader, corpus_dir: Path, tmp_path: Path
) -> None:
    topic = f"heritage.test.lido.{uuid.uuid4().hex[:8]}"
    dlq = f"{topic}.dlq"
    ensure_topics(live_settings, (topic, dlq))
    layout = producer_layout(live_settings, tmp_path, topic, dlq)

    first = publish_lido(live_settings, layout, [corpus_dir / "lido"], progress=False)
    again = publish_lido(live_settings, layout, [corpus_dir / "lido"], progress=False)

    assert (first.files, first.records, first.published, first.skipped) == (20, 24, 21, 0)
    assert (first.rejected, first.rejected_files) == (3, 0)
    assert (again.records, again.published, again.skipped, again.rejected) == (24, 0, 21, 3)

    records = read_topic(topic)
    assert len(records) == 21  # nothing sent twice
    for key, envelope in records:
        assert key == envelope["record_id"] and key.startswith("lido:")
        assert envelope["source"] == "lido" and envelope["deleted"] is False
        assert envelope["payload"].startswith("<lido:lido ")
        assert envelope["record"]["title"]
        assert len(envelope["content_hash"]) == 64
    # La Primavera in LIDO 1.0 and 1.1 share a lidoRecID: one key, two versions.
    assert len({key for key, _ in records}) == 20

    dead = read_topic(dlq)
    assert len(dead) == 3
    by_file = {Path(e["payload"]["file"]).name: e for _, e in dead}
    assert set(by_file) == {
        "DDB_LIDO_record_1.xml",
        "DDB_LIDO_record_2.xml",
        "graphics_LIDO_record.xml",
    }
    graphics = by_file["graphics_LIDO_record.xml"]["payload"]
    assert len(graphics["reasons"]) == 10
    assert "<lido:lidoRecID" in graphics["xml"]
