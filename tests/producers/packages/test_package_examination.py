"""The examination of one package without the stack: real unpacking, METS, checksums,
pygfried and clamscan (with the project's test signatures)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import bagit
import pytest

from heritage.producers.packages.ingest_events import Outcome, Step
from heritage.producers.packages.package_examination import ExaminationConfig, examine_package
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.producers.packages.unpacking import UnpackLimits
from heritage.source_settings import ClamavConfig

METS = """<?xml version="1.0" encoding="UTF-8"?>
<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"
      xmlns:mods="http://www.loc.gov/mods/v3" OBJID="hdl:10.1/77">
  <dmdSec ID="d1"><mdWrap MDTYPE="MODS"><xmlData><mods:mods>
    <mods:titleInfo><mods:title>Letters, 1871</mods:title></mods:titleInfo>
  </mods:mods></xmlData></mdWrap></dmdSec>
  <fileSec><fileGrp USE="ORIGINAL">
    <file ID="f1" CHECKSUMTYPE="MD5" CHECKSUM="{spaced}"><FLocat LOCTYPE="URL"
      xlink:href="file://letters/page%201.txt"/></file>
    <file ID="f2" CHECKSUMTYPE="SHA-256" CHECKSUM="{dotted}"><FLocat LOCTYPE="URL"
      xlink:href="./letters/page2.txt"/></file>
    <file ID="f3" CHECKSUMTYPE="Adler-32" CHECKSUM="0a0b0c0d"><FLocat LOCTYPE="URL"
      xlink:href="letters/page2.txt"/></file>
    <file ID="f4" CHECKSUMTYPE="MD5" CHECKSUM="00"><FLocat LOCTYPE="URL"
      xlink:href="https://repository.example.org/bitstream/77/big.tif"/></file>
  </fileGrp></fileSec>
</mets>
"""


@pytest.fixture
def config(tmp_path: Path) -> ExaminationConfig:
    write_test_signatures(tmp_path / "clamav")
    return ExaminationConfig(UnpackLimits(), ClamavConfig(database_dir=tmp_path / "clamav"))


def deposit(folder: Path, mets: str) -> Path:
    (folder / "letters").mkdir(parents=True)
    (folder / "letters" / "page 1.txt").write_text("Dear Sir,\n")
    (folder / "letters" / "page2.txt").write_text("Yours faithfully,\n")
    (folder / "mets.xml").write_text(mets)
    return folder


def digests() -> tuple[str, str]:
    return (
        hashlib.md5(b"Dear Sir,\n").hexdigest(),
        hashlib.sha256(b"Yours faithfully,\n").hexdigest(),
    )


def test_mets_checksums_are_matched_to_files_by_every_href_form(
    tmp_path: Path, config: ExaminationConfig
) -> None:
    md5, sha256 = digests()
    package = deposit(tmp_path / "in", METS.format(spaced=md5.upper(), dotted=sha256))
    exam = examine_package(package, tmp_path / "work", "w1", config)
    assert exam.failure is None, exam.failure
    assert exam.package_id == "hdl:10.1/77"
    assert exam.metadata["title"] == ["Letters, 1871"]
    files = {item.path: item for item in exam.files}
    assert files["letters/page 1.txt"].checksum_status == "verified"
    assert files["letters/page 1.txt"].supplied == {"md5": md5}
    # SHA-256 verified; the Adler-32 beside it cannot be checked: a warning, not a failure.
    assert files["letters/page2.txt"].checksum_status == "verified"
    fixity = {e.file_path: e for e in exam.log.events if e.step is Step.FIXITY}
    assert fixity["letters/page2.txt"].outcome is Outcome.WARNING
    assert "Adler-32" in fixity["letters/page2.txt"].detail
    assert files["mets.xml"].checksum_status == "not_supplied"
    assert {item.virus_verdict for item in exam.files} == {"clean"}
    assert files["letters/page2.txt"].puid == "x-fmt/111"


def test_a_mismatch_and_a_file_the_mets_lists_but_the_package_lacks_fail(
    tmp_path: Path, config: ExaminationConfig
) -> None:
    md5, sha256 = digests()
    wrong = deposit(tmp_path / "wrong", METS.format(spaced=md5, dotted="0" * 64))
    exam = examine_package(wrong, tmp_path / "w1", "w1", config)
    assert exam.failure_step == "digest"
    assert exam.failure and "do not match" in exam.failure and "page2.txt" in exam.failure
    missing = deposit(tmp_path / "missing", METS.format(spaced=md5, dotted=sha256))
    (missing / "letters" / "page2.txt").unlink()
    exam = examine_package(missing, tmp_path / "w2", "w2", config)
    assert exam.failure and "missing file" in exam.failure


def test_checksum_files_beside_the_files_are_checked(
    tmp_path: Path, config: ExaminationConfig
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "0001.txt").write_text("page one\n")
    digest = hashlib.sha256(b"page one\n").hexdigest()
    (folder / "checksum.sha256").write_text(f"{digest}  0001.txt\n")
    exam = examine_package(folder, tmp_path / "w1", "w1", config)
    assert exam.failure is None, exam.failure
    assert {i.path: i.checksum_status for i in exam.files}["0001.txt"] == "verified"
    (folder / "checksum.sha256").write_text(f"{'0' * 64}  0001.txt\n")
    exam = examine_package(folder, tmp_path / "w2", "w2", config)
    assert exam.failure and "checksum.sha256" in exam.failure


def test_a_bag_is_hashed_once_and_its_manifests_checked_in_that_pass(
    tmp_path: Path, config: ExaminationConfig
) -> None:
    bag_dir = tmp_path / "bag"
    (bag_dir / "scans").mkdir(parents=True)
    (bag_dir / "scans" / "0001.txt").write_text("page one\n")
    bagit.make_bag(str(bag_dir), {"External-Identifier": "lab-7"}, checksums=["sha256"])
    exam = examine_package(bag_dir, tmp_path / "w1", "w1", config)
    assert exam.failure is None, exam.failure
    statuses = {item.path: item.checksum_status for item in exam.files}
    assert statuses["data/scans/0001.txt"] == "verified"
    assert statuses["bag-info.txt"] == "verified"  # from the tag manifest
    (bag_dir / "data" / "scans" / "0001.txt").write_text("page 0ne\n")
    exam = examine_package(bag_dir, tmp_path / "w2", "w2", config)
    assert exam.failure_step == "digest"
    assert exam.failure and "manifest-sha256.txt" in exam.failure
