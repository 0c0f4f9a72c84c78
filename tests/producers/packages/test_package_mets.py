"""METS parsing: the metsrw fixtures, a DSpace-style and a Dublin Core METS, hostile input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from heritage.producers.packages import sample_packages
from heritage.producers.packages.mets_document import (
    MAX_METS_BYTES,
    MetsDocument,
    MetsError,
    MetsFile,
    RightsStatement,
    StructDiv,
    find_mets,
    parse_mets,
)

# The outcome decided for each metsrw fixture: every one parses (metsrw itself refuses
# createdate_too_new.xml for its year-3000 CREATEDATE and mets_invalid_xlink_hrefs.xml for
# an unparseable URL; neither matters here: the date is not read and hrefs are kept as
# written). Per file: OBJID, metadata format, titles, number of files, structMap TYPEs, and
# one file's (ID, checksum) or None when the document has no file.
CORPUS_OUTCOMES: dict[str, tuple[object, ...]] = {
    "complete_mets.xml": (
        None, "DC", ("Landing zone", "Pretty marbles"), 7, ("physical",),
        ("file-ab5c67fc-8f80-4e46-9f20-8d5ae29c43f2",
         "a469c730e705d757d66f53f38bb4455e89d5691a3d87fc7bc069b91fa2a50d46"),
    ),
    "createdate_too_new.xml": (None, None, (), 0, (), None),
    "dmdsecs_mets.xml": (
        None, None, (), 1, ("physical",), ("file-7ac3a28c-3bff-4db6-b370-14ed08d911c4", None),
    ),
    "mets_all_rights.xml": (
        None, None, (), 2, ("physical",),
        ("file-c09903c4-bc29-4db4-92da-47355eec752f",
         "d2bed92b73c7090bb30a0b30016882e7069c437488e1513e9deaacbe29d38d92"),
    ),
    "mets_dir_with_fptrs.xml": (
        None, None, (), 3, ("physical",),
        ("V00154.MPG-3a6a182a-40a0-4c2b-9752-fc7e91ac1edf",
         "7bab5874a44f22e9fb7240cb70e674d12ae4d61a96db15e7cf0755d55db33d81"),
    ),
    "mets_directory_amd.xml": (
        None, None, (), 1, ("physical",), ("file-c40c08e3-5041-422b-b823-26ab04112dea", None),
    ),
    "mets_empty_dirs.xml": (
        None, None, (), 4, ("physical", "logical"),
        ("file-78756d71-73fd-4988-a1c1-c2971ee2160f",
         "74f69e3aadb702159ca70c5e6965ce8fef4d0ef9d9f26ee157360c93a4306268"),
    ),
    "mets_invalid_xlink_hrefs.xml": (
        None, "DC", ("Landing zone", "Pretty marbles"), 1, ("physical",),
        ("file-ab5c67fc-8f80-4e46-9f20-8d5ae29c43f2",
         "a469c730e705d757d66f53f38bb4455e89d5691a3d87fc7bc069b91fa2a50d46"),
    ),
    "mets_structmap_arranged_sip.xml": (
        None, "DC", ("14000 Caen, France - Bird in my garden",), 11,
        ("physical", "logical", "logical"),
        ("file-f756e554-d0bf-4932-81db-da1cb36fe25a",
         "a28bc7a1c7bb1dd09528c52c99561c472b3dcb139049a5c67fb301807bfef8ba"),
    ),
    "mets_structmap_imported.xml": (
        None, None, (), 15, ("physical", "logical", "logical"),
        ("file-1283559d-3724-4cd7-bc87-d7bb1bc78cbb",
         "da44a35cfdfd8654516b934a024b34cfaa598ba336483e9282b64ca9a17674f9"),
    ),
    "mets_with_dmdsecs_in_filesec.xml": (
        None, "DC", (), 6, ("physical",),
        ("file-33f5f35a-8bde-4b94-b7cd-3d2c8b8f7a23",
         "150efbdbd121c20e1bfdff90505d6e6e48707dd3a4a46621bcd5d0ff3f0fbfdc"),
    ),
    "mets_with_missing_bag_metadata_amdsec.xml": (
        None, None, (), 4, ("physical",),
        ("file-e6c45b98-ac60-4e13-a03c-1ca746f5450a",
         "217b51a35163c3c93de301487f4618c14255cdae6324f5af92463a40ff978094"),
    ),
    "mets_without_groupid_in_file.xml": (
        "44db0a40-4c76-45b9-83f1-a8adba434b43", None, (), 1, ("physical", "physical"),
        ("file-db653873-d0ab-4bc1-9edb-2b6d2d84ab5a", None),
    ),
    "production-aip-mets-file.xml": (
        None, None, (), 2, ("physical",),
        ("file-db8d8d30-8c7f-4ca3-9add-2e1000b6e460",
         "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb"),
    ),
    "production-pointer-file.xml": (
        None, None, (), 1, ("physical",), ("easy7-7327b00f-d83a-4ae8-bb89-84fce994e827", None),
    ),
    "transfer_mets.xml": (
        "5a2a39cf-042a-4cbd-8252-784673f3871d", None, (), 5, ("physical", "logical"),
        ("file-ae765ac3-3689-4e14-9689-7911fb3b2384",
         "a0e06bbffd72c579083289e7787151280508138b06cdf8841bd1f732fc3f4e18"),
    ),
}  # fmt: skip


def _corpus_document(corpus_dir: Path, name: str) -> MetsDocument:
    return parse_mets((corpus_dir / "mets" / name).read_bytes(), name)


def test_the_outcome_table_names_every_fixture(corpus_dir: Path) -> None:
    assert {path.name for path in (corpus_dir / "mets").iterdir()} == set(CORPUS_OUTCOMES)


@pytest.mark.parametrize("name", sorted(CORPUS_OUTCOMES))
def test_every_metsrw_fixture_gets_its_decided_outcome(corpus_dir: Path, name: str) -> None:
    objid, metadata_format, titles, file_count, map_types, one_file = CORPUS_OUTCOMES[name]
    document = _corpus_document(corpus_dir, name)
    assert document.objid == objid
    assert document.metadata_format == metadata_format
    assert document.titles == titles
    assert len(document.files) == file_count
    assert tuple(map_type for map_type, _div in document.struct_maps) == map_types
    if one_file is not None:
        checksums = {file.file_id: file.checksum for file in document.files}
        assert checksums[one_file[0]] == one_file[1]


def test_fixity_written_in_the_filesec_is_kept_as_written(corpus_dir: Path) -> None:
    document = _corpus_document(corpus_dir, "transfer_mets.xml")
    beihai = next(file for file in document.files if file.href == "objects/beihai.tif")
    assert (beihai.checksum_type, beihai.use, beihai.size) == ("SHA-256", "original", 12446432)


def test_premis_v2_rights_of_a_windows_1252_document(corpus_dir: Path) -> None:
    document = _corpus_document(corpus_dir, "mets_all_rights.xml")
    assert document.rights_statements[0] == RightsStatement(
        basis="Copyright",
        act="Disseminate",
        restriction="Allow",
        start_date="2000",
        end_date="OPEN",
        note="Attribution required",
        uri=None,
    )
    assert {s.basis for s in document.rights_statements} >= {"Copyright", "Statute"}


def test_premis_v3_rights_of_a_transfer(corpus_dir: Path) -> None:
    document = _corpus_document(corpus_dir, "transfer_mets.xml")
    assert document.rights_statements[0] == RightsStatement(
        basis="Copyright",
        act="Act 1",
        restriction="Allow",
        start_date="2004-04-04",
        end_date="2005-05-05",
        note="Grant note 1",
        uri=None,
    )


def test_an_md_ref_is_noted_not_fetched(corpus_dir: Path) -> None:
    document = _corpus_document(corpus_dir, "mets_with_dmdsecs_in_filesec.xml")
    assert document.identifiers == ("hdl:2429/2700",)
    assert document.metadata_refs == (
        "objects/ITEM_2429-2700.zip-2023-07-07T23_05_58.201656_00_00/mets.xml",
    )


def test_a_url_that_is_no_url_is_kept_as_written(corpus_dir: Path) -> None:
    document = _corpus_document(corpus_dir, "mets_invalid_xlink_hrefs.xml")
    assert document.files[0].href == "http://foo[bar.com/Landing_zone.jpg"


DSPACE_METS = b"""<?xml version="1.0" encoding="UTF-8"?>
<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"
      ID="DSpace_ITEM_123456789-42" OBJID="hdl:123456789/42" LABEL="DSpace Item"
      TYPE="DSpace ITEM" PROFILE="DSpace METS SIP Profile 1.0">
  <metsHdr CREATEDATE="2026-03-02T10:15:00Z">
    <agent ROLE="CUSTODIAN" TYPE="ORGANIZATION"><name>Harbour Town Archive</name></agent>
  </metsHdr>
  <dmdSec ID="dmdSec_1">
    <mdWrap MDTYPE="MODS">
      <xmlData xmlns:mods="http://www.loc.gov/mods/v3">
        <mods:mods>
          <mods:name>
            <mods:role><mods:roleTerm type="text">author</mods:roleTerm></mods:role>
            <mods:namePart>Doe, Jane</mods:namePart>
          </mods:name>
          <mods:name>
            <mods:namePart type="family">Smith</mods:namePart>
            <mods:namePart type="given">John</mods:namePart>
          </mods:name>
          <mods:originInfo>
            <mods:dateIssued encoding="iso8601">1911-05-01</mods:dateIssued>
            <mods:dateCaptured encoding="iso8601">2025-11-20</mods:dateCaptured>
          </mods:originInfo>
          <mods:identifier type="uri">http://hdl.handle.net/123456789/42</mods:identifier>
          <mods:titleInfo>
            <mods:nonSort>The</mods:nonSort>
            <mods:title>Harbour survey</mods:title>
            <mods:subTitle>plates and   notes</mods:subTitle>
          </mods:titleInfo>
          <mods:language>
            <mods:languageTerm authority="rfc3066">en</mods:languageTerm>
          </mods:language>
          <mods:accessCondition type="use and reproduction"
              xlink:href="http://rightsstatements.org/vocab/InC/1.0/"
              >In copyright</mods:accessCondition>
          <mods:subject>
            <mods:name><mods:namePart>Harbour Board</mods:namePart></mods:name>
          </mods:subject>
          <mods:relatedItem type="host">
            <mods:titleInfo><mods:title>Survey collection</mods:title></mods:titleInfo>
            <mods:identifier>hdl:123456789/1</mods:identifier>
          </mods:relatedItem>
        </mods:mods>
      </xmlData>
    </mdWrap>
  </dmdSec>
  <amdSec ID="amd_1">
    <rightsMD ID="rightsMD_1">
      <mdWrap MDTYPE="OTHER" OTHERMDTYPE="METSRIGHTS">
        <xmlData>
          <rights:RightsDeclarationMD xmlns:rights="http://cosimo.stanford.edu/sdr/metsrights/"
              RIGHTSCATEGORY="LICENSED">
            <rights:Context CONTEXTCLASS="GENERAL PUBLIC">
              <rights:Permissions DISCOVER="true" DISPLAY="true" MODIFY="false" DELETE="false"/>
            </rights:Context>
          </rights:RightsDeclarationMD>
        </xmlData>
      </mdWrap>
    </rightsMD>
  </amdSec>
  <fileSec>
    <fileGrp USE="ORIGINAL">
      <file ID="bitstream_1" MIMETYPE="image/tiff" SEQ="1" SIZE="1048576"
            CHECKSUM="9e107d9d372bb6826bd81d3542a419d6" CHECKSUMTYPE="MD5"
            GROUPID="GROUP_bitstream_1">
        <FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="bitstream_1.tif"/>
      </file>
      <file ID="bitstream_2" MIMETYPE="image/tiff" SEQ="2" SIZE="2048"
            CHECKSUM="e4d909c290d0fb1ca068ffaddf22cbd0" CHECKSUMTYPE="MD5"
            GROUPID="GROUP_bitstream_2">
        <FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="bitstream_2.tif"/>
      </file>
    </fileGrp>
    <fileGrp USE="THUMBNAIL">
      <file ID="bitstream_3" MIMETYPE="image/jpeg" SIZE="12x" GROUPID="GROUP_bitstream_1">
        <FLocat LOCTYPE="URL" xlink:href="bitstream_3.jpg"/>
      </file>
    </fileGrp>
  </fileSec>
  <structMap ID="struct_1" LABEL="DSpace Object" TYPE="LOGICAL">
    <div ID="div_1" DMDID="dmdSec_1" TYPE="DSpace Object Contents">
      <div ID="div_2" TYPE="DSpace BITSTREAM" ORDER="1"><fptr FILEID="bitstream_1"/></div>
      <div ID="div_3" TYPE="DSpace BITSTREAM" ORDER="2"><fptr FILEID="bitstream_2"/></div>
    </div>
  </structMap>
</mets>
"""


def test_a_dspace_mets_with_mods_and_a_logical_struct_map() -> None:
    document = parse_mets(DSPACE_METS, "deposit/mets.xml")
    assert document.objid == "hdl:123456789/42"
    assert document.metadata_format == "MODS"
    assert document.titles == ("The Harbour survey: plates and notes",)
    assert document.names == ("Doe, Jane", "Smith, John")
    assert document.identifiers == ("http://hdl.handle.net/123456789/42",)
    assert document.dates == ("1911-05-01", "2025-11-20")
    assert document.languages == ("en",)
    assert document.rights == ("In copyright", "http://rightsstatements.org/vocab/InC/1.0/")
    assert document.rights_statements == (
        RightsStatement(
            "use and reproduction", None, None, None, None, "In copyright",
            "http://rightsstatements.org/vocab/InC/1.0/",
        ),
        RightsStatement("LICENSED", "discover, display", None, None, None, None, None),
    )  # fmt: skip
    assert document.files[0] == MetsFile(
        file_id="bitstream_1",
        use="ORIGINAL",
        mimetype="image/tiff",
        size=1048576,
        checksum="9e107d9d372bb6826bd81d3542a419d6",
        checksum_type="MD5",
        href="bitstream_1.tif",
        group_id="GROUP_bitstream_1",
    )
    assert (document.files[2].use, document.files[2].size) == ("THUMBNAIL", None)
    assert document.struct_maps == (
        (
            "LOGICAL",
            StructDiv(
                type="DSpace Object Contents",
                label=None,
                order=None,
                file_ids=(),
                children=(
                    StructDiv("DSpace BITSTREAM", None, "1", ("bitstream_1",), ()),
                    StructDiv("DSpace BITSTREAM", None, "2", ("bitstream_2",), ()),
                ),
            ),
        ),
    )


DC_METS = """<?xml version="1.0" encoding="windows-1252"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"
    OBJID="urn:nbn:de:0000-caf\u00e9">
  <mets:dmdSec ID="dc_1">
    <mets:mdWrap MDTYPE="DC">
      <mets:xmlData>
        <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
                   xmlns:dc="http://purl.org/dc/elements/1.1/"
                   xmlns:dcterms="http://purl.org/dc/terms/">
          <dc:title>Caf\u00e9 ledger</dc:title>
          <dc:creator>M\u00fcller, Anna</dc:creator>
          <dc:contributor>Harbour Town Archive</dc:contributor>
          <dc:date>1887</dc:date>
          <dcterms:created>1886</dcterms:created>
          <dc:language>de</dc:language>
          <dc:identifier>inv-1887-04</dc:identifier>
          <dc:rights>http://rightsstatements.org/vocab/NoC-US/1.0/</dc:rights>
          <dcterms:license>https://creativecommons.org/publicdomain/mark/1.0/</dcterms:license>
        </oai_dc:dc>
      </mets:xmlData>
    </mets:mdWrap>
  </mets:dmdSec>
  <mets:dmdSec ID="dc_0" STATUS="original-superseded">
    <mets:mdWrap MDTYPE="DC"><mets:xmlData>
      <dc:title xmlns:dc="http://purl.org/dc/elements/1.1/">Old title</dc:title>
    </mets:xmlData></mets:mdWrap>
  </mets:dmdSec>
  <mets:fileSec>
    <mets:fileGrp>
      <mets:fileGrp USE="master">
        <mets:file ID="f1" MIMETYPE="image/tiff" CHECKSUM="AB12" CHECKSUMTYPE="SHA-256">
          <mets:FLocat LOCTYPE="URL" xlink:href="file://data/ledger_0001.tif"/>
        </mets:file>
      </mets:fileGrp>
    </mets:fileGrp>
  </mets:fileSec>
  <mets:structMap>
    <mets:div LABEL="Ledger">
      <mets:div TYPE="page" ORDER="1">
        <mets:fptr><mets:area FILEID="f1" SHAPE="RECT" COORDS="0,0,10,10"/></mets:fptr>
      </mets:div>
    </mets:div>
  </mets:structMap>
</mets:mets>
""".encode("cp1252")


def test_a_dublin_core_mets_in_windows_1252() -> None:
    document = parse_mets(DC_METS, "ledger/METS.xml")
    assert document.objid == "urn:nbn:de:0000-caf\u00e9"
    assert document.metadata_format == "DC"
    assert document.titles == ("Caf\u00e9 ledger",)
    assert document.names == ("M\u00fcller, Anna", "Harbour Town Archive")
    assert document.dates == ("1887", "1886")
    assert document.languages == ("de",)
    assert document.identifiers == ("inv-1887-04",)
    assert document.rights == (
        "http://rightsstatements.org/vocab/NoC-US/1.0/",
        "https://creativecommons.org/publicdomain/mark/1.0/",
    )
    assert [s.uri for s in document.rights_statements] == list(document.rights)
    assert document.files == (
        MetsFile("f1", "master", "image/tiff", None, "AB12", "SHA-256",
                 "file://data/ledger_0001.tif", None),
    )  # fmt: skip
    page = StructDiv("page", None, "1", ("f1",), ())
    assert document.struct_maps == ((None, StructDiv(None, "Ledger", None, (), (page,))),)


def test_a_mets_without_descriptive_metadata_has_no_format() -> None:
    document = parse_mets(b'<mets xmlns="http://www.loc.gov/METS/"/>', "m.xml")
    assert document == MetsDocument(None, (), (), (), (), (), (), (), (), (), None)


def test_an_external_entity_is_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret-value")
    document = (
        f'<?xml version="1.0"?>\n<!DOCTYPE mets [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<mets xmlns="http://www.loc.gov/METS/"><dmdSec ID="d"><mdWrap MDTYPE="DC"><xmlData>'
        '<dc:title xmlns:dc="http://purl.org/dc/elements/1.1/">&xxe;</dc:title>'
        "</xmlData></mdWrap></dmdSec></mets>"
    ).encode()
    with pytest.raises(MetsError) as raised:
        parse_mets(document, "pkg/mets.xml")
    message = str(raised.value)
    assert message.startswith("pkg/mets.xml: declares a DTD")
    assert "top-secret-value" not in message


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (b"", "m.xml: not XML, it is empty"),
        (b"PK\x03\x04rest", "m.xml: not XML, it is a ZIP archive"),
        (b"Inventory list\n", "m.xml: not XML, it starts with 'Inventory list'"),
        (b"<mets xmlns='http://www.loc.gov/METS/'><div></mets>",
         "m.xml: not well-formed XML at line 1"),
        (b"<mets/>", "m.xml: root element is 'mets', not a METS document"),
        (b"<mods xmlns='http://www.loc.gov/mods/v3'/>",
         "m.xml: root element is '{http://www.loc.gov/mods/v3}mods'"),
    ],
)  # fmt: skip
def test_what_is_not_a_mets_document_is_rejected_with_a_reason(data: bytes, start: str) -> None:
    with pytest.raises(MetsError) as raised:
        parse_mets(data, "m.xml")
    assert str(raised.value).startswith(start)


def test_a_document_over_the_size_limit_is_rejected_unparsed() -> None:
    data = b"<mets xmlns='http://www.loc.gov/METS/'>" + b" " * MAX_METS_BYTES + b"</mets>"
    with pytest.raises(MetsError, match="over the 52428800-byte limit"):
        parse_mets(data, "big.xml")


def test_the_mets_file_is_found_at_the_top_or_one_folder_down(tmp_path: Path) -> None:
    assert find_mets(tmp_path) is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "item-mets.xml").write_text("<x/>")
    assert find_mets(tmp_path) == tmp_path / "data" / "item-mets.xml"
    (tmp_path / "data" / "METS.xml").write_text("<x/>")
    assert find_mets(tmp_path) == tmp_path / "data" / "METS.xml"
    (tmp_path / "package_mets.XML").write_text("<x/>")
    assert find_mets(tmp_path) == tmp_path / "package_mets.XML"
    (tmp_path / "mets.xml").write_text("<x/>")
    assert find_mets(tmp_path) == tmp_path / "mets.xml"
    assert find_mets(tmp_path / "absent") is None


@pytest.mark.parametrize("depth", [250, 5000])
def test_deep_struct_maps_are_read_or_refused_at_the_parser_limit(depth: int) -> None:
    data = (
        b"<mets xmlns='http://www.loc.gov/METS/'><structMap>"
        + b"<div TYPE='level'>" * depth
        + b"</div>" * depth
        + b"</structMap></mets>"
    )
    if depth < 256:
        assert parse_mets(data, "deep.xml").struct_maps[0][1].type == "level"
    else:
        with pytest.raises(MetsError, match="Excessive depth"):
            parse_mets(data, "deep.xml")


def test_the_custodian_agent_names_the_institution(tmp_path: Path) -> None:
    zipped = sample_packages.dspace_zip(tmp_path)
    with zipfile.ZipFile(zipped) as archive:
        document = parse_mets(archive.read("mets.xml"), "mets.xml")
    assert document.custodian


def test_without_a_custodian_an_organisation_creator_names_the_institution() -> None:
    data = (
        b'<mets xmlns="http://www.loc.gov/METS/"><metsHdr>'
        b'<agent ROLE="CREATOR" TYPE="INDIVIDUAL"><name>Jane Doe</name></agent>'
        b'<agent ROLE="CREATOR" TYPE="ORGANIZATION"><name>Digitisation Lab</name></agent>'
        b"</metsHdr></mets>"
    )
    assert parse_mets(data, "mets.xml").custodian == "Digitisation Lab"
    assert parse_mets(b'<mets xmlns="http://www.loc.gov/METS/"/>', "m.xml").custodian is None
