"""Embargo ends and creator death years as the producers put them into the common record:
LIDO rightsWorkSets, CSV columns and PREMIS rights granted. Pure mapping, no services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from heritage.embargo_time import EmbargoDateError, EmbargoEnd, EndRule
from heritage.producers.csv_drop import (
    BadCsvRow,
    CsvColumnMapping,
    CsvRow,
    CsvRowError,
    dead_letter_row,
    map_csv_row,
    read_csv_rows,
    unmappable_row,
)
from heritage.producers.embargo_inputs import (
    INDEFINITE_EMBARGO_UNTIL,
    death_year,
    latest_end_fields,
    utc_text,
)
from heritage.producers.metadata_mapping import MappingError, map_lido_record, map_record
from heritage.producers.packages.ingest_events import Outcome, Step
from heritage.producers.packages.mets_document import parse_mets
from heritage.producers.packages.mets_rights import RightsStatement, restriction_end
from heritage.producers.packages.package_examination import ExaminationConfig, examine_package
from heritage.producers.packages.package_record import (
    package_embargo_fields,
    package_source_record,
)
from heritage.producers.packages.unpacking import UnpackLimits
from heritage.publication_settings import PublicationPolicy
from heritage.record_contract import record_shape_problems
from heritage.source_settings import ClamavConfig

AMSTERDAM = PublicationPolicy(
    institution_zone="Europe/Amsterdam", provider_zones={"Tokyo Museum": "Asia/Tokyo"}
)

# --- producers.embargo_inputs --------------------------------------------------------------


def test_utc_text_has_a_z_and_microseconds_only_when_not_zero() -> None:
    assert utc_text(datetime(2030, 12, 31, 23, tzinfo=UTC)) == "2030-12-31T23:00:00Z"
    moment = datetime(2031, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert utc_text(moment) == "2031-01-01T00:00:00.000001Z"


@pytest.mark.parametrize(
    ("written", "year"),
    [
        ("1880", 1880),
        ("1510-05-17", 1510),
        ("1945-04", 1945),
        ("1945-04-30T15:30:00+02:00", 1945),
        ("-0044", -44),
        (" 1954 ", 1954),
        ("ca. 1880", None),
        ("19. Jh.", None),
        ("", None),
        (None, None),
    ],
)
def test_death_year_reads_years_and_iso_dates_only(written: str | None, year: int | None) -> None:
    assert death_year(written) == year


def test_the_latest_end_wins_by_instant_not_by_text() -> None:
    """``...00Z`` sorts after ``...00.000001Z`` as text; the instant decides."""
    earlier = EmbargoEnd("a", "UTC", EndRule.INSTANT, datetime(2031, 1, 1, tzinfo=UTC))
    later = EmbargoEnd("b", "UTC", EndRule.INSTANT, datetime(2031, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    assert latest_end_fields([None, later, earlier])["embargo_until"] == "b"
    assert latest_end_fields([None]) == {}


# --- LIDO --------------------------------------------------------------------------------

_LIDO_NS = "http://www.lido-schema.org"


def lido(rights_sets: str = "", actors: str = "", provider: str = "Stadtmuseum") -> etree._Element:
    text = f"""<lido:lido xmlns:lido="{_LIDO_NS}"
        xmlns:skos="http://www.w3.org/2004/02/skos/core#"
        xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <lido:lidoRecID lido:type="local">DE-1/obj-7</lido:lidoRecID>
      <lido:descriptiveMetadata xml:lang="de">
        <lido:objectIdentificationWrap>
          <lido:titleWrap><lido:titleSet>
            <lido:appellationValue>Stillleben</lido:appellationValue>
          </lido:titleSet></lido:titleWrap>
          <lido:repositoryWrap><lido:repositorySet>
            <lido:repositoryName><lido:legalBodyName>
              <lido:appellationValue>{provider}</lido:appellationValue>
            </lido:legalBodyName></lido:repositoryName>
          </lido:repositorySet></lido:repositoryWrap>
        </lido:objectIdentificationWrap>
        <lido:eventWrap><lido:eventSet><lido:event>
          <lido:eventType><lido:term>Herstellung</lido:term></lido:eventType>
          {actors}
        </lido:event></lido:eventSet></lido:eventWrap>
      </lido:descriptiveMetadata>
      <lido:administrativeMetadata xml:lang="de">
        <lido:rightsWorkWrap>{rights_sets}</lido:rightsWorkWrap>
      </lido:administrativeMetadata>
    </lido:lido>"""
    return etree.fromstring(text.encode("utf-8"))


def rights_set(type_xml: str, latest: str | None = None, earliest: str | None = None) -> str:
    dates = "".join(
        f"<lido:{name}>{value}</lido:{name}>"
        for name, value in (("earliestDate", earliest), ("latestDate", latest))
        if value is not None
    )
    date = f"<lido:rightsDate>{dates}</lido:rightsDate>" if dates else ""
    kind = f"<lido:rightsType>{type_xml}</lido:rightsType>"
    return f"<lido:rightsWorkSet>{kind}{date}</lido:rightsWorkSet>"


def actor(*vital_dates: str) -> str:
    return (
        "<lido:eventActor><lido:actorInRole><lido:actor><lido:nameActorSet>"
        "<lido:appellationValue>Name</lido:appellationValue></lido:nameActorSet>"
        f"{''.join(vital_dates)}</lido:actor></lido:actorInRole></lido:eventActor>"
    )


def vital(latest: str | None, kind: str = "") -> str:
    attribute = f' lido:type="{kind}"' if kind else ""
    inner = f"<lido:latestDate>{latest}</lido:latestDate>" if latest else ""
    return f"<lido:vitalDatesActor{attribute}>{inner}</lido:vitalDatesActor>"


def test_a_lido_embargo_term_with_a_rights_date_gives_the_four_fields() -> None:
    record = map_lido_record(
        lido(rights_set("<lido:term>Sperrfrist</lido:term>", latest="2099-12-31")), AMSTERDAM
    )
    assert {k: v for k, v in record.items() if k.startswith("embargo")} == {
        "embargo_until": "2099-12-31",
        "embargo_zone": "Europe/Amsterdam",
        "embargo_rule": "through_named_day",
        "embargo_end_utc": "2099-12-31T23:00:00Z",
    }
    assert record_shape_problems(record) == []


def test_the_provider_zone_the_latest_set_and_earliest_date_fallback() -> None:
    sets = rights_set("<lido:term>Embargo until</lido:term>", earliest="2030-06") + rights_set(
        "<lido:conceptID>http://example.org/vocab/embargo</lido:conceptID>", latest="2030"
    )
    record = map_record("lido", lido(sets, provider="Tokyo Museum"), AMSTERDAM)
    assert record["embargo_until"] == "2030"
    assert record["embargo_zone"] == "Asia/Tokyo"
    assert record["embargo_rule"] == "through_named_year"
    assert record["embargo_end_utc"] == "2030-12-31T15:00:00Z"


@pytest.mark.parametrize(
    "type_xml",
    [
        "<lido:term>Unrestricted access</lido:term>",
        "<lido:conceptID>http://rightsstatements.org/vocab/InC/1.0/</lido:conceptID>",
        "<lido:term>Urheberrecht</lido:term>",
    ],
)
def test_rights_that_state_no_embargo_give_no_embargo(type_xml: str) -> None:
    record = map_lido_record(lido(rights_set(type_xml, latest="2099")), AMSTERDAM)
    assert not any(name.startswith("embargo") for name in record)


def test_a_restriction_without_an_end_date_holds_indefinitely() -> None:
    concept = (
        '<skos:Concept rdf:about="http://example.org/access">'
        "<skos:prefLabel>Access restriction</skos:prefLabel></skos:Concept>"
    )
    record = map_lido_record(lido(rights_set(concept)), AMSTERDAM)
    assert record["embargo_until"] == INDEFINITE_EMBARGO_UNTIL
    assert record["embargo_end_utc"] == "9998-12-31T23:00:00Z"


def test_a_lido_date_time_without_a_zone_is_rejected_naming_the_record_and_element() -> None:
    element = lido(rights_set("<lido:term>Embargo</lido:term>", latest="2030-12-31T17:00:00"))
    with pytest.raises(MappingError) as raised:
        map_lido_record(element, AMSTERDAM)
    message = str(raised.value)
    assert "'DE-1/obj-7'" in message and "rightsWorkSet" in message and "latestDate" in message
    assert "no offset" in message


def test_the_creator_death_year_is_the_latest_and_only_when_every_one_is_known() -> None:
    known = actor(vital("1510-05-17")) + actor(vital("1880"), vital("1790", kind="birthDate"))
    assert map_lido_record(lido(actors=known))["creator_death_year"] == 1880
    # A co-creator alive or unknown keeps the work in copyright: no year to count from.
    for unknown in (actor(vital(None)), actor(vital("um 1900"))):
        assert "creator_death_year" not in map_lido_record(lido(actors=known + unknown))
    assert "creator_death_year" not in map_lido_record(lido(actors=actor(vital(None))))


# --- CSV ---------------------------------------------------------------------------------


def test_csv_embargo_columns_map_with_the_declared_or_the_provider_zone() -> None:
    row = {"id": "7", "data_provider": "Tokyo Museum", "embargo_until": "2030-12-31"}
    record = map_csv_row(row, CsvColumnMapping(), AMSTERDAM)
    assert record["embargo_zone"] == "Asia/Tokyo"
    assert record["embargo_end_utc"] == "2030-12-31T15:00:00Z"
    row |= {"embargo_zone": "America/New_York", "creator_death_year": "1954"}
    record = map_csv_row(row, CsvColumnMapping(), AMSTERDAM)
    assert record["embargo_zone"] == "America/New_York"
    assert record["embargo_end_utc"] == "2031-01-01T05:00:00Z"
    assert record["creator_death_year"] == 1954
    assert record_shape_problems(record) == []
    bare = map_csv_row({"id": "8", "embargo_until": " ", "embargo_zone": "UTC"}, CsvColumnMapping())
    assert bare == {"id": "8"}


def test_a_csv_date_time_without_a_zone_is_rejected_naming_row_and_column() -> None:
    with pytest.raises(EmbargoDateError) as raised:
        map_csv_row({"id": "7", "embargo_until": "2030-12-31 17:00"}, CsvColumnMapping())
    message = str(raised.value)
    assert message.startswith("row '7', column 'embargo_until': '2030-12-31 17:00' has a time")
    assert "embargo_zone" in message
    offset = map_csv_row(
        {"id": "7", "embargo_until": "2030-12-31T17:00:00.000001+01:00"}, CsvColumnMapping()
    )
    assert offset["embargo_end_utc"] == "2030-12-31T16:00:00.000001Z"
    with pytest.raises(CsvRowError, match=r"'creator_death_year': 'c\. 1900' is not a year"):
        map_csv_row({"id": "7", "creator_death_year": "c. 1900"}, CsvColumnMapping())


def test_an_unmappable_csv_row_becomes_a_dead_letter_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,title,embargo_until\n7,Kaart,2030-13-01\n", encoding="utf-8")
    (row,) = read_csv_rows(path, CsvColumnMapping())
    assert isinstance(row, CsvRow)
    with pytest.raises(EmbargoDateError) as raised:
        map_csv_row(row.cells, CsvColumnMapping())
    bad = unmappable_row(row, str(raised.value))
    assert isinstance(bad, BadCsvRow) and bad.row_id == "7" and bad.raw == "7,Kaart,2030-13-01\n"
    message = dead_letter_row(path, "maps", bad)
    assert message.record_id == "csv:maps:7"
    (reason,) = message.payload["reasons"]
    assert reason.startswith(f"{path}, line 2: row '7', column 'embargo_until': '2030-13-01'")
    assert "not a calendar date" in reason


# --- packages ----------------------------------------------------------------------------


def statement(act: str | None, restriction: str | None, end: str | None) -> RightsStatement:
    return RightsStatement("Copyright", act, restriction, None, end, None, None)


@pytest.mark.parametrize(
    ("act", "restriction", "end", "expected"),
    [
        ("Disseminate", "Disallow", "2094", "2094"),
        ("Publish", "Embargo", "2031-06-30", "2031-06-30"),
        (None, "Restricted", "2030", "2030"),
        ("Access", "Disallow", "OPEN", INDEFINITE_EMBARGO_UNTIL),
        ("Disseminate", "Disallow", None, INDEFINITE_EMBARGO_UNTIL),
        ("Disseminate", "Allow", "2094", None),
        ("Disseminate", "Conditional", "2094", None),
        ("Disseminate", "Unrestricted", "2094", None),
        ("Replicate", "Disallow", "2094", None),
        ("Act 2", "Disallow", None, None),
    ],
)
def test_which_rights_granted_are_embargoes(
    act: str | None, restriction: str | None, end: str | None, expected: str | None
) -> None:
    assert restriction_end(statement(act, restriction, end)) == expected


def test_archivematica_rights_give_the_latest_restriction_end(corpus_dir: Path) -> None:
    document = parse_mets((corpus_dir / "mets/mets_all_rights.xml").read_bytes(), "mets.xml")
    metadata = {
        "rights_statements": [vars(s) for s in document.rights_statements],
        "data_provider": "Archive",
    }
    assert package_embargo_fields(metadata, "aip-1", AMSTERDAM) == {
        "embargo_until": "2094",
        "embargo_zone": "Europe/Amsterdam",
        "embargo_rule": "through_named_year",
        "embargo_end_utc": "2094-12-31T23:00:00Z",
    }
    transfer = parse_mets((corpus_dir / "mets/transfer_mets.xml").read_bytes(), "mets.xml")
    rights = {"rights_statements": [vars(s) for s in transfer.rights_statements]}
    assert package_embargo_fields(rights, "t", AMSTERDAM) == {}  # "Act 2" is no access act


def test_a_package_record_carries_the_embargo_and_a_bad_end_names_the_package() -> None:
    granted = [vars(statement("Disseminate", "Embargo", "2031-06-30"))]
    manifest = {"package_id": "p-1", "metadata": {"rights_statements": granted}, "files": []}
    record = package_source_record(manifest, AMSTERDAM).record
    assert record is not None and record["embargo_end_utc"] == "2031-06-30T22:00:00Z"
    granted = [vars(statement("Disseminate", "Disallow", "2031-06-30T12:00"))]
    with pytest.raises(EmbargoDateError, match=r"^package 'p-1' PREMIS rightsGranted \(act"):
        package_embargo_fields({"rights_statements": granted}, "p-1", AMSTERDAM)


EMBARGOED_METS = """<?xml version="1.0" encoding="UTF-8"?>
<mets xmlns="http://www.loc.gov/METS/" xmlns:premis="http://www.loc.gov/premis/v3"
      xmlns:mods="http://www.loc.gov/mods/v3" OBJID="hdl:10.1/88">
  <dmdSec ID="d1"><mdWrap MDTYPE="MODS"><xmlData><mods:mods>
    <mods:titleInfo><mods:title>Diary, 1944</mods:title></mods:titleInfo>
  </mods:mods></xmlData></mdWrap></dmdSec>
  <amdSec ID="a1"><rightsMD ID="r1"><mdWrap MDTYPE="PREMIS:RIGHTS"><xmlData>
    <premis:rights><premis:rightsStatement>
      <premis:rightsBasis>Donor</premis:rightsBasis>
      <premis:rightsGranted>
        <premis:act>Disseminate</premis:act>
        <premis:restriction>Disallow</premis:restriction>
        <premis:termOfRestriction><premis:endDate>{end}</premis:endDate></premis:termOfRestriction>
      </premis:rightsGranted>
    </premis:rightsStatement></premis:rights>
  </xmlData></mdWrap></rightsMD></amdSec>
</mets>
"""


def test_a_package_whose_embargo_end_has_no_zone_is_quarantined_with_the_reason(
    tmp_path: Path,
) -> None:
    package = tmp_path / "in"
    package.mkdir()
    (package / "mets.xml").write_text(EMBARGOED_METS.format(end="2030-12-31T17:00"))
    config = ExaminationConfig(
        UnpackLimits(), ClamavConfig(database_dir=tmp_path / "clamav"), publication=AMSTERDAM
    )
    exam = examine_package(package, tmp_path / "work", "w1", config)
    assert exam.failure is not None
    assert exam.failure.startswith(
        "embargo rejected: package 'hdl:10.1/88' PREMIS rightsGranted (act 'Disseminate', "
        "restriction 'Disallow') endDate: '2030-12-31T17:00' has a time but no offset"
    )
    failed = [e for e in exam.log.events if e.outcome is Outcome.FAILURE]
    assert [e.step for e in failed] == [Step.METS_PARSING]
