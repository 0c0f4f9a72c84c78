"""Virus scan with the real clamscan and the project's test signatures (written to tmp_path)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from heritage.producers.packages.clamd_client import ClamdUnreachable, clamd_command
from heritage.producers.packages.scanner_signatures import (
    CLAMAV_TEST_FILE_NAME,
    eicar_test_file,
    write_test_signatures,
)
from heritage.producers.packages.virus_scan import (
    CLEAN,
    ERROR,
    INFECTED,
    OVER_LIMIT,
    ScannerUnavailable,
    ScanVerdict,
    clamscan_command,
    engine_version,
    parse_clamscan_output,
    scan_files,
    verdict_from_result,
)
from heritage.settings import load_settings
from heritage.source_settings import ClamavConfig, load_clamav_settings

REPOSITORY = Path(__file__).resolve().parents[3]
CLAMAV_TESTFILES = Path("/usr/share/clamav-testfiles")
needs_clamscan = pytest.mark.skipif(
    shutil.which("clamscan") is None, reason="ClamAV's clamscan is not installed"
)
# Debian's clamav-daemon puts clamd in /usr/sbin, often missing from a user's PATH.
CLAMD = shutil.which("clamd", path=f"{os.environ.get('PATH', '')}:/usr/sbin")


@pytest.fixture
def config(tmp_path: Path) -> ClamavConfig:
    database = tmp_path / "clamav"
    write_test_signatures(database)
    return ClamavConfig(database_dir=database)


def _zip_holding(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def _tar_gz_holding(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(content)
        archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _clean_images(folder: Path) -> list[Path]:
    image = Image.new("RGB", (64, 48), (200, 180, 150))
    paths = [folder / "letter.pdf", folder / "master.tif", folder / "thumb.jpg"]
    for path in paths:
        image.save(path)
    return paths


@needs_clamscan
def test_eicar_found_plain_and_inside_nested_containers(
    tmp_path: Path, config: ClamavConfig
) -> None:
    eicar = eicar_test_file()
    plain = tmp_path / "eicar.com"
    plain.write_bytes(eicar)
    zipped = tmp_path / "eicar.zip"
    zipped.write_bytes(_zip_holding("docs/eicar.com", eicar))
    nested = tmp_path / "deposit.tar.gz"
    nested.write_bytes(_tar_gz_holding("inner/eicar.zip", zipped.read_bytes()))
    clean = _clean_images(tmp_path)

    verdicts = scan_files([plain, zipped, nested, *clean], config)

    for path in (plain, zipped, nested):
        assert verdicts[path].status == INFECTED, path
        signature = verdicts[path].signature or ""
        assert signature.startswith("Heritage.Test.EICAR-"), signature
        assert signature.endswith(".UNOFFICIAL")
    for path in clean:
        assert verdicts[path] == ScanVerdict(CLEAN, None, "no signature matched"), path


@needs_clamscan
@pytest.mark.parametrize("suffix", [".hdb", ".hsb", ".ndb"])
def test_each_test_signature_file_detects_eicar_alone(tmp_path: Path, suffix: str) -> None:
    database = tmp_path / "clamav"
    for path in write_test_signatures(database):
        if path.suffix != suffix:
            path.unlink()
    sample = tmp_path / "sample.bin"
    sample.write_bytes(eicar_test_file())

    verdict = scan_files([sample], ClamavConfig(database_dir=database))[sample]

    assert verdict.status == INFECTED


@needs_clamscan
def test_file_over_the_size_limit_is_never_clean(tmp_path: Path, config: ClamavConfig) -> None:
    small_limit = ClamavConfig(database_dir=config.database_dir, max_filesize_mb=1 / 1024)
    padded = tmp_path / "large master.tif"
    padded.write_bytes(b"\0" * 4096 + eicar_test_file())
    harmless = tmp_path / "large.txt"
    harmless.write_bytes(b"a" * 4096)
    small = tmp_path / "small.txt"
    small.write_bytes(b"a" * 100)

    verdicts = scan_files([padded, harmless, small], small_limit)

    for path in (padded, harmless):
        assert verdicts[path].status == OVER_LIMIT
        assert verdicts[path].signature == "Heuristics.Limits.Exceeded.MaxFileSize"
        assert "HERITAGE_CLAMAV_MAX_FILESIZE_MB" in verdicts[path].detail
    assert verdicts[small].status == CLEAN


@needs_clamscan
def test_awkward_names_map_back_to_their_files(tmp_path: Path, config: ClamavConfig) -> None:
    eicar = eicar_test_file()
    infected = [
        tmp_path / "scan 1: recto.com",
        tmp_path / "Brief an Élise, 写真.com",
        Path(os.fsdecode(os.fsencode(tmp_path) + b"/latin1 caf\xe9: x.com")),
        tmp_path / "two\nlines: x.com",
        tmp_path / "ends with colon space: ",
    ]
    for path in infected:
        path.write_bytes(eicar)
    clean = tmp_path / "scan 1: recto.com.txt"
    clean.write_text("harmless", encoding="utf-8")

    verdicts = scan_files([*infected, clean], config)

    assert {path: verdicts[path].status for path in infected} == dict.fromkeys(infected, INFECTED)
    assert verdicts[clean].status == CLEAN


@needs_clamscan
def test_missing_and_empty_files_do_not_sink_the_batch(
    tmp_path: Path, config: ClamavConfig
) -> None:
    missing = tmp_path / "gone.tif"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    infected = tmp_path / "eicar.com"
    infected.write_bytes(eicar_test_file())

    verdicts = scan_files([missing, empty, infected], config)

    assert verdicts[missing].status == ERROR
    assert str(missing) in verdicts[missing].detail
    assert verdicts[empty].status == CLEAN
    assert verdicts[infected].status == INFECTED


@needs_clamscan
@pytest.mark.skipif(not CLAMAV_TESTFILES.is_dir(), reason="Debian's clamav-testfiles absent")
def test_every_clamav_test_file_is_detected(config: ClamavConfig) -> None:
    files = sorted(path for path in CLAMAV_TESTFILES.iterdir() if path.is_file())
    assert len(files) >= 44

    verdicts = scan_files(files, config)

    undetected = [path.name for path in files if verdicts[path].status != INFECTED]
    assert undetected == []
    assert {verdict.signature for verdict in verdicts.values()} == {
        f"{CLAMAV_TEST_FILE_NAME}.UNOFFICIAL"
    }


@needs_clamscan
@pytest.mark.parametrize("database", ["missing", "empty", "unrelated files"])
def test_no_database_means_scanner_unavailable(tmp_path: Path, database: str) -> None:
    folder = tmp_path / "clamav"
    if database != "missing":
        folder.mkdir()
    if database == "unrelated files":
        (folder / "freshclam.conf").write_text("DatabaseMirror example\n", encoding="utf-8")
    sample = tmp_path / "a.txt"
    sample.write_text("a", encoding="utf-8")
    expected = f"no ClamAV signature database in {folder}; run freshclam there or set"

    with pytest.raises(ScannerUnavailable, match=expected):
        scan_files([sample], ClamavConfig(database_dir=folder))
    with pytest.raises(ScannerUnavailable, match=expected):
        engine_version(ClamavConfig(database_dir=folder))


@needs_clamscan
def test_broken_database_means_scanner_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "clamav"
    folder.mkdir()
    (folder / "broken.ndb").write_text("not a signature\n", encoding="utf-8")
    sample = tmp_path / "a.txt"
    sample.write_text("a", encoding="utf-8")

    with pytest.raises(ScannerUnavailable, match="cannot load the signature database"):
        scan_files([sample], ClamavConfig(database_dir=folder))


@needs_clamscan
def test_clamscan_command_alerts_on_limits_and_caps_them(tmp_path: Path) -> None:
    config = ClamavConfig(database_dir=tmp_path, max_filesize_mb=400, max_scansize_mb=10_000)

    command = clamscan_command(config, tmp_path / "files.txt")

    assert command[1:] == [
        "--no-summary",
        f"--database={tmp_path}",
        "--alert-exceeds-max=yes",
        f"--max-filesize={400 * 1024 * 1024}",
        f"--max-scansize={2**31 - 1}",
        f"--file-list={tmp_path / 'files.txt'}",
    ]


@needs_clamscan
def test_engine_version_as_clamscan_reports_it(config: ClamavConfig) -> None:
    assert engine_version(config).startswith("ClamAV 1.")


def test_no_files_no_scan(tmp_path: Path) -> None:
    assert scan_files([], ClamavConfig(database_dir=tmp_path / "none")) == {}


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A clamd of our own on the test signatures, with small limits; its socket."""
    if CLAMD is None:
        pytest.skip("clamd is not installed (Debian: clamav-daemon)")
    folder = tmp_path_factory.mktemp("clamd")
    write_test_signatures(folder / "db")
    # Unix socket paths are limited to about 100 bytes; pytest's folders can be longer.
    run = Path(tempfile.mkdtemp(prefix="clamd-"))
    socket_path = run / "clamd.sock"
    config = folder / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\nDatabaseDirectory {folder / 'db'}\nForeground yes\n"
        f"LogFile {folder / 'clamd.log'}\nStreamMaxLength 1M\nMaxFileSize 512K\n"
        "AlertExceedsMax yes\n",
        encoding="utf-8",
    )
    process = subprocess.Popen([CLAMD, f"--config-file={config}"], stdout=subprocess.DEVNULL)
    try:
        _wait_for_clamd(str(socket_path), process)
        yield str(socket_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(run, ignore_errors=True)


def _wait_for_clamd(socket_path: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"clamd exited with {process.returncode} before it listened")
        try:
            if clamd_command(socket_path, "PING", 5) == "PONG":
                return
        except ClamdUnreachable:
            time.sleep(0.1)
    pytest.fail("clamd did not listen within 30 s")


def test_clamd_mode_scans_through_the_daemon(tmp_path: Path, clamd_socket: str) -> None:
    config = ClamavConfig(database_dir=tmp_path, mode="clamd", clamd_socket=clamd_socket)
    eicar = eicar_test_file()
    plain = tmp_path / "eicar: 1.com"
    plain.write_bytes(eicar)
    nested = tmp_path / "deposit.tar.gz"
    nested.write_bytes(_tar_gz_holding("inner/eicar.zip", _zip_holding("eicar.com", eicar)))
    over_file_limit = tmp_path / "large master.tif"
    over_file_limit.write_bytes(b"\0" * 600 * 1024)
    over_stream_limit = tmp_path / "huge.tif"
    over_stream_limit.write_bytes(b"\0" * 2 * 1024 * 1024)
    clean = _clean_images(tmp_path)

    verdicts = scan_files([plain, nested, over_file_limit, over_stream_limit, *clean], config)

    assert verdicts[plain].status == INFECTED
    assert verdicts[nested].status == INFECTED
    assert verdicts[over_file_limit].status == OVER_LIMIT
    assert verdicts[over_file_limit].signature == "Heuristics.Limits.Exceeded.MaxFileSize"
    assert verdicts[over_stream_limit].status == OVER_LIMIT
    assert "StreamMaxLength" in verdicts[over_stream_limit].detail
    assert [verdicts[path].status for path in clean] == [CLEAN] * len(clean)
    assert engine_version(config).startswith("ClamAV 1.")


def test_unreachable_clamd_means_scanner_unavailable(tmp_path: Path) -> None:
    sample = tmp_path / "a.txt"
    sample.write_text("a", encoding="utf-8")
    config = ClamavConfig(
        database_dir=tmp_path, mode="clamd", clamd_socket=str(tmp_path / "clamd.ctl")
    )

    with pytest.raises(ScannerUnavailable, match=r"cannot reach clamd at .*clamd\.ctl"):
        scan_files([sample], config)
    with pytest.raises(ScannerUnavailable, match="HERITAGE_CLAMD_SOCKET"):
        engine_version(config)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("OK", ScanVerdict(CLEAN, None, "no signature matched")),
        (
            " Eicar-Signature FOUND",
            ScanVerdict(INFECTED, "Eicar-Signature", "signature Eicar-Signature matched"),
        ),
        ("Heuristics.Limits.Exceeded.MaxScanSize FOUND", None),
        ("INSTREAM size limit exceeded. ERROR", None),
        ("lstat() failed: No such file or directory. ERROR", None),
    ],
)
def test_verdicts_from_clamscan_and_clamd_results(
    result: str, expected: ScanVerdict | None
) -> None:
    verdict = verdict_from_result(result)
    if expected is not None:
        assert verdict == expected
    elif "Limits" in result or "size limit" in result:
        assert verdict.status == OVER_LIMIT
    else:
        assert verdict.status == ERROR
        assert "No such file" in verdict.detail


def test_output_lines_split_where_a_known_name_ends() -> None:
    names = {"/p/a: b", "/p/a", "/p/a: OK", "/p/c"}
    stdout = "/p/a: b: Sig.One FOUND\n/p/a: OK\n/p/a: OK: Empty file\n/p/unlisted: OK\n"
    stderr = "WARNING: /p/c: Can't access file\n"

    verdicts = parse_clamscan_output(stdout, stderr, names)

    assert verdicts["/p/a: b"].signature == "Sig.One"
    assert verdicts["/p/a"].status == CLEAN
    assert verdicts["/p/a: OK"] == ScanVerdict(CLEAN, None, "empty file: nothing to scan")
    assert verdicts["/p/c"] == ScanVerdict(
        ERROR, None, "not scanned: WARNING: /p/c: Can't access file"
    )
    assert set(verdicts) == names


def test_one_file_under_two_names_gets_a_verdict_under_each(
    tmp_path: Path, config: ClamavConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = tmp_path / "eicar.com"
    sample.write_bytes(eicar_test_file())
    monkeypatch.chdir(tmp_path)

    verdicts = scan_files([sample, Path("eicar.com")], config)

    assert [verdict.status for verdict in verdicts.values()] == [INFECTED, INFECTED]


def test_clamav_settings_defaults_and_overrides(tmp_path: Path) -> None:
    state = tmp_path / "state"
    defaults = load_clamav_settings(load_settings({"HERITAGE_STATE_DIR": str(state)}))
    assert defaults == ClamavConfig(database_dir=state.resolve() / "clamav")
    assert (defaults.mode, defaults.max_filesize_mb, defaults.max_scansize_mb) == (
        "clamscan",
        400.0,
        1000.0,
    )

    configured = load_clamav_settings(
        load_settings(
            {
                "HERITAGE_STATE_DIR": str(state),
                "HERITAGE_CLAMAV_DB": "/var/lib/clamav",
                "HERITAGE_CLAMAV_MODE": "CLAMD",
                "HERITAGE_CLAMD_SOCKET": "127.0.0.1:3310",
                "HERITAGE_CLAMAV_MAX_FILESIZE_MB": "2000",
                "HERITAGE_CLAMAV_MAX_SCANSIZE_MB": "4000",
                "HERITAGE_CLAMAV_TIMEOUT_S": "60",
            }
        )
    )
    assert configured == ClamavConfig(
        database_dir=Path("/var/lib/clamav"),
        mode="clamd",
        clamd_socket="127.0.0.1:3310",
        max_filesize_mb=2000.0,
        max_scansize_mb=4000.0,
        timeout_s=60.0,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HERITAGE_CLAMAV_MODE", "daemon", "use one of clamscan, clamd"),
        ("HERITAGE_CLAMAV_MAX_FILESIZE_MB", "0", "max_filesize_mb must be > 0"),
        ("HERITAGE_CLAMAV_TIMEOUT_S", "soon", "HERITAGE_CLAMAV_TIMEOUT_S='soon' is not a number"),
    ],
)
def test_bad_clamav_settings_are_refused(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    settings = load_settings({"HERITAGE_STATE_DIR": str(tmp_path), name: value})
    with pytest.raises(ValueError, match=message):
        load_clamav_settings(settings)


def test_the_repository_holds_no_whole_eicar_string() -> None:
    eicar = eicar_test_file()
    folders = [REPOSITORY / name for name in ("heritage", "producers", "tests", "scripts")]
    offenders = [
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file() and path.stat().st_size < 5_000_000 and eicar in path.read_bytes()
    ]
    assert offenders == []
