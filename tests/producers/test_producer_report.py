"""What a producer run prints: one line per rejected record, then the summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from heritage.producers.csv_drop import BadCsvRow, CsvDropResult
from heritage.producers.europeana_client import EuropeanaHarvestResult
from heritage.producers.kafka_publisher import PublishResult
from heritage.producers.lido_drop import (
    LidoDropResult,
    LidoRecordRead,
    Rejection,
    dead_letter_record,
    lido_files,
    read_lido_file,
)
from heritage.producers.oai_pmh_harvester import HarvestResult, ListResult
from heritage.producers.producer_report import (
    ProducerReport,
    annotations_report,
    csv_report,
    europeana_report,
    invalid_records,
    lido_report,
    oai_report,
    rejection_line,
    sample_report,
    shown_path,
)
from heritage.producers.simulators.annotation_simulator import AnnotationRunResult

LIDO_NS = 'xmlns:lido="http://www.lido-schema.org"'
TITLED = """<lido:lido>
  <lido:lidoRecID lido:source="DE-Mb112"
    lido:type="local">DE-Mb112/lido-obj00154983</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="de"><lido:objectIdentificationWrap><lido:titleWrap>
    <lido:titleSet><lido:appellationValue>La Primavera</lido:appellationValue></lido:titleSet>
  </lido:titleWrap></lido:objectIdentificationWrap></lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="de"><lido:recordWrap><lido:recordRights>
    <lido:rightsType><lido:conceptID lido:type="http://terminology.lido-schema.org/lido00099"
    >http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
  </lido:recordRights></lido:recordWrap></lido:administrativeMetadata>
</lido:lido>"""
UNTITLED = """<lido:lido>
  <lido:lidoRecID lido:source="DE-Mb112"
    lido:type="local">DE-Mb112/lido-obj20344012</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="de"><lido:objectIdentificationWrap><lido:titleWrap>
  </lido:titleWrap></lido:objectIdentificationWrap></lido:descriptiveMetadata>
</lido:lido>"""


def lido_result_of(files: list[Path]) -> LidoDropResult:
    """What publish_lido reports for ``files``, built by reading them (no broker)."""
    result = LidoDropResult()
    for path in files:
        result.files += 1
        for item in read_lido_file(path):
            if isinstance(item, str):
                continue
            if isinstance(item, LidoRecordRead):
                result.records += 1
                if not item.problems:
                    result.published += 1
                    continue
            message = dead_letter_record(item)
            result.rejected += 1
            result.rejected_files += not isinstance(item, LidoRecordRead)
            reasons = message.payload["reasons"]
            result.rejections.append(Rejection(item.file, item.line, message.record_id, reasons))
    return result


def test_a_rejected_lido_record_is_one_line_with_file_line_id_and_reasons(
    tmp_path: Path,
) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    export = drops / "export.xml"
    export.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<lido:lidoWrap {LIDO_NS}>\n'
        f"{TITLED}\n{UNTITLED}\n</lido:lidoWrap>\n",
        encoding="utf-8",
    )
    result = lido_result_of([export])

    report = lido_report(result, base=tmp_path)

    assert (report.read, report.published + report.rejected, report.unchanged) == (2, 2, 0)
    untitled = [r for r in result.rejections if r.record_id.endswith("/lido-obj20344012")]
    [line] = [line for line in report.rejection_lines if line.startswith("drops/export.xml:14")]
    assert line.startswith(f"drops/export.xml:14 {untitled[0].record_id}: no title: ")
    assert "\n" not in line
    assert report.lines()[-1] == (
        f"lido: 2 read, {report.published} published, {report.rejected} rejected, 0 unchanged "
        "(1 file)"
    )


def test_every_record_of_the_invalid_corpus_files_gets_its_line(corpus_dir: Path) -> None:
    result = lido_result_of(lido_files([corpus_dir / "lido/invalid"]))

    report = lido_report(result, base=corpus_dir)

    assert len(report.rejection_lines) == result.rejected == 3
    for line, rejection in zip(report.rejection_lines, result.rejections, strict=True):
        location = f"lido/invalid/{rejection.file.name}:{rejection.line}"
        assert line.startswith(location), line
        # A record without a lidoRecID has a hash for a key: the file and line name it.
        if ":unidentified:" not in rejection.record_id:
            assert line.startswith(f"{location} {rejection.record_id}: "), line
        assert line.endswith("; ".join(rejection.reasons)) and "\n" not in line, line


def test_a_whole_unreadable_file_names_the_file_once(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text(f"<lido:lidoWrap {LIDO_NS}>\n<lido:lido>\n", encoding="utf-8")

    report = lido_report(lido_result_of([broken]), base=tmp_path)

    [line] = report.rejection_lines
    assert line.startswith("broken.xml")
    assert str(broken) not in line and ":unidentified:" not in line
    assert "1 unreadable file among the rejected" in report.summary_line()


def test_summary_counts_use_thousands_separators() -> None:
    report = ProducerReport("lido", read=1204, published=1180, rejected=20, unchanged=4)
    assert report.summary_line() == "lido: 1,204 read, 1,180 published, 20 rejected, 4 unchanged"
    assert report.has_rejections


def test_rejection_line_without_a_file_starts_with_the_record_id() -> None:
    line = rejection_line(
        ["no title:\n  titleWrap/titleSet is empty", "no rights"], record_id="oai:x:1"
    )
    assert line == "oai:x:1: no title: titleWrap/titleSet is empty; no rights"


def test_csv_rows_are_named_by_file_line_and_record_id(tmp_path: Path) -> None:
    export = tmp_path / "rijks.csv"
    result = CsvDropResult(rows=3, new=1, unchanged=2, published=1, rejected=2)
    result.bad_rows.extend(
        [
            BadCsvRow(5, "no value in the id column 'objectnummer'", "", None, None, 10),
            BadCsvRow(6, "4 cells, the header has 3", "5,a,b,extra", None, "5", 12),
        ]
    )
    result.tombstones_withheld = True

    report = csv_report(result, export, "rijks", base=tmp_path)

    assert report.rejection_lines == (
        "rijks.csv:5: no value in the id column 'objectnummer'",
        "rijks.csv:6 csv:rijks:5: 4 cells, the header has 3",
    )
    assert report.summary_line().startswith("csv: 5 read, 1 published, 2 rejected, 2 unchanged")
    assert "removals withheld" in report.summary_line()


def test_europeana_reports_skipped_as_unchanged(tmp_path: Path) -> None:
    result = EuropeanaHarvestResult(
        pages=3, records=250, published=200, skipped=50, unidentified=2, finished=False,
        resumed=True, total_results=900, state_file=tmp_path / "cursor.json",
    )  # fmt: skip
    report = europeana_report(result)
    assert report.summary_line().startswith(
        "europeana: 250 read, 200 published, 0 rejected, 50 unchanged"
    )
    assert "rerun to resume" in report.summary_line()
    assert not report.has_rejections


def test_europeana_lists_each_dead_lettered_item_and_counts_it() -> None:
    result = EuropeanaHarvestResult(
        pages=1, records=100, published=99, skipped=0, unidentified=0, finished=True,
        resumed=False, total_results=100, state_file=Path("cursor.json"), rejected=1,
        rejections=(("europeana:/9200397/BibliographicResource_3000126284212",
                     ("item 7 of the page at cursor '*': field 'title' is a number, "
                      "expected a list of strings",)),),
    )  # fmt: skip
    report = europeana_report(result)
    assert report.summary_line().startswith("europeana: 100 read, 99 published, 1 rejected")
    assert report.rejection_lines == (
        "europeana:/9200397/BibliographicResource_3000126284212: item 7 of the page at cursor "
        "'*': field 'title' is a number, expected a list of strings",
    )
    assert report.has_rejections


def test_oai_lists_each_dead_letter_it_carries() -> None:
    result = HarvestResult("https://example.org/oai", "example.org")
    listed = ListResult("oai_dc", None, published=5, dead_lettered=1, completed=True)
    listed.rejections.append(
        ("oai:example.org:42", ("header of oai:example.org:42 has the datestamp "
                                "'0000-00-00T00:00:00Z', which is not a date",))
    )  # fmt: skip
    result.lists.append(listed)
    report = oai_report(result)
    assert report.rejection_lines == (
        "oai:example.org:42: header of oai:example.org:42 has the datestamp "
        "'0000-00-00T00:00:00Z', which is not a date",
    )
    assert report.problem_lines == ()


def test_oai_dead_letters_are_rejections_and_failed_lists_are_named() -> None:
    result = HarvestResult("https://example.org/oai", "example.org")
    result.lists.append(
        ListResult("oai_dc", None, published=90, already_published=8, dead_lettered=2,
                   completed=True)
    )  # fmt: skip
    result.lists.append(
        ListResult("lido", "paintings", error="cannotDisseminateFormat", completed=False)
    )

    report = oai_report(result)

    assert report.summary_line().startswith(
        "oai: 100 read, 90 published, 2 rejected, 8 unchanged (https://example.org/oai; 2 lists"
    )
    assert report.problem_lines == (
        "https://example.org/oai: 2 pages or records dead-lettered without a line here; the "
        "reasons are in the dead-letter topic and the log",
        "https://example.org/oai lido/paintings: list failed: cannotDisseminateFormat; "
        "rerun to resume it",
    )


def test_sample_and_annotations_have_the_same_summary_shape() -> None:
    assert sample_report(PublishResult(published=7, skipped=3)).summary_line() == (
        "sample: 10 read, 7 published, 0 rejected, 3 unchanged"
    )
    annotations = AnnotationRunResult(
        published=40, skipped=0, tags=30, comments=10, known_record_ids=5, seconds=2.0
    )
    assert (
        annotations_report(annotations)
        .summary_line()
        .startswith(
            "annotations: 40 read, 40 published, 0 rejected, 0 unchanged (30 tags, 10 comments"
        )
    )


@dataclass(frozen=True)
class _Flagged:
    record_id: str
    reasons: list[str]
    file: Path | None = None
    line: int | None = None


@dataclass(frozen=True)
class _ResultWithInvalid:
    published: int
    skipped: int
    invalid: list[object] = field(default_factory=list)


def test_records_published_but_flagged_invalid_are_listed_when_the_result_has_them() -> None:
    assert invalid_records(PublishResult(published=1, skipped=0)) == (0, ())
    result = _ResultWithInvalid(
        published=2,
        skipped=0,
        invalid=[_Flagged("sample:7", ["date_created: '31.02.1890' is not a date"])],
    )

    report = sample_report(result)  # type: ignore[arg-type]

    assert report.invalid_lines == (
        "sample:7: date_created: '31.02.1890' is not a date (published, invalid)",
    )
    assert report.has_rejections
    assert report.summary_line().endswith(", 1 published but invalid")
    assert invalid_records(_ResultWithInvalid(1, 0, invalid=3)) == (3, ())  # type: ignore[arg-type]


def test_invalid_records_given_as_id_and_reasons_pairs_are_listed() -> None:
    result = _ResultWithInvalid(
        published=1,
        skipped=0,
        invalid=[("europeana:/2021672/resource_9", ("no title", "type 'PAINTING' is unknown"))],
    )
    assert invalid_records(result) == (
        1,
        (
            "europeana:/2021672/resource_9: no title; type 'PAINTING' is unknown "
            "(published, invalid)",
        ),
    )


def test_a_file_below_a_linked_base_is_shown_relative_to_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "drops").mkdir(parents=True)
    linked = tmp_path / "linked"
    linked.symlink_to(real)
    dropped = (linked / "drops" / "a.xml").resolve()

    assert shown_path(dropped, base=linked) == "drops/a.xml"
    assert shown_path(linked / "drops" / "a.xml", base=real) == "drops/a.xml"
    assert shown_path(tmp_path / "elsewhere.xml", base=real) == str(tmp_path / "elsewhere.xml")
