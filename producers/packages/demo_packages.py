"""The packages `make demo` deposits: a DSpace thesis export, a digitisation lab's bag and a
registry's scanned deposit (stored on the first run, duplicates on every later one; the
scans are read by OCR) and a zip-slip package (quarantined), so the Packages and OCR review
pages, the analytics views and the records they publish have something to show. Built
deterministically under the state folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from heritage.producers.packages import sample_packages, sample_scans
from heritage.producers.packages.ingest_settings import load_examination_config
from heritage.producers.packages.package_record import SOURCE, package_source_record
from heritage.producers.packages.package_store import IngestEventLog
from heritage.producers.packages.package_workflow import IngestReport, ingest_packages
from heritage.producers.packages.resubmission import StoredVersion
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.record_contract import classify_envelope
from heritage.record_model import envelope_for, utc_now_iso
from heritage.stage_contract import StageContext


@dataclass(frozen=True)
class DemoPackages:
    report: IngestReport
    # Packages whose latest version's record the cleanse stage accepts; stored versions whose
    # record it dead-letters.
    valid_records: int
    invalid_records: int
    # Where the project's test signatures were written (no ClamAV database was there).
    signatures_written: Path | None
    # Stored versions in all: one record published for each.
    stored_versions: int = 0
    # Packages an earlier run took, not ingested again.
    already_taken: int = 0


def demo_package_files(folder: Path) -> list[Path]:
    """The demo's packages, built into ``folder`` (the same bytes every time)."""
    paths = []
    builders: tuple[tuple[str, Callable[[Path], Path]], ...] = (
        ("thesis", sample_packages.dspace_zip),
        ("lab", sample_packages.bag_targz_with_nested_zip),
        ("scans", sample_scans.scanned_deposit),
        ("slip", sample_packages.zip_slip_package),
    )
    for name, build in builders:
        (folder / name).mkdir(parents=True, exist_ok=True)
        paths.append(build(folder / name))
    return paths


def ingest_demo_packages(context: StageContext) -> DemoPackages:
    """Ingest the demo's packages that no earlier run took (a rerun writes nothing), and
    count the records of every stored version for the demo's checks."""
    config = load_examination_config(context.settings)
    database = config.clamav.database_dir
    written = None
    if not database.is_dir() or not any(database.iterdir()):
        write_test_signatures(database)
        written = database
    paths = demo_package_files(context.settings.state_dir / "demo" / "packages")
    events = IngestEventLog(context.spark, context.layout)
    taken = events.submissions()
    new = [path for path in paths if str(path) not in taken]
    report = ingest_packages(context, new, config, workers=1) if new else IngestReport()
    versions = events.stored_versions()
    latest = {version.package_id: version for version in sorted(versions, key=_order)}
    valid = sum(_valid(version) for version in latest.values())
    invalid = sum(not _valid(version) for version in versions)
    return DemoPackages(report, valid, invalid, written, len(versions), len(paths) - len(new))


def _order(version: StoredVersion) -> tuple[str, int]:
    return version.package_id, version.version


def _valid(version: StoredVersion) -> bool:
    record = package_source_record(version.manifest)
    return classify_envelope(envelope_for(SOURCE, record, "demo", utc_now_iso())).valid
