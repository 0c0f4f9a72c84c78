"""Unpacking submission packages: hostile archives are refused whole, real ones keep their
hierarchy (every archive is built here, at run time)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import unicodedata
import warnings
import zipfile
from pathlib import Path

import bagit
import pytest

from heritage.producers.packages.unpacking import (
    UnpackLimits,
    UnpackRefused,
    container_kind,
    unpack,
)

TIFF = b"II*\x00" + bytes(range(256)) * 8


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_tar(
    path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w"
) -> Path:
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                archive.addfile(info, io.BytesIO(entry[1]))
    return path


def tar_link(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


DEFAULT_LIMITS = UnpackLimits()


def refusal(
    submission: Path, tmp_path: Path, limits: UnpackLimits = DEFAULT_LIMITS
) -> UnpackRefused:
    work_dir = tmp_path / "work"
    with pytest.raises(UnpackRefused) as caught:
        unpack(submission, work_dir, limits)
    assert not (work_dir / "package").exists()  # nothing partially trusted stays behind
    assert not (work_dir / "containers").exists()
    return caught.value


def tree_snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            path.stat().st_mode,
            path.read_bytes(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    } | {
        str(path.relative_to(folder)): (0, 0, b"dir") for path in folder.rglob("*") if path.is_dir()
    }


@pytest.mark.parametrize(
    "name", ["../x", "a/../../x", "/etc/x", "\\x", "C:\\x", "c:x", "a\\..\\..\\x"]
)
def test_package_unpacking_refuses_zip_names_leaving_the_package(tmp_path: Path, name: str) -> None:
    error = refusal(
        write_zip(tmp_path / "deposit.zip", {"ok.txt": b"fine", name: b"evil"}), tmp_path
    )
    assert (error.rule, error.member) == ("traversal", name)
    assert "deposit.zip" in str(error) and name in str(error) and "traversal" in str(error)
    assert not (tmp_path / "x").exists() and not Path("/etc/x").exists()


def test_package_unpacking_refuses_tar_names_leaving_the_package(tmp_path: Path) -> None:
    error = refusal(write_tar(tmp_path / "deposit.tar", [("../x", b"evil")]), tmp_path)
    assert (error.rule, error.member) == ("traversal", "../x")


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (tarfile.SYMTYPE, "/etc/passwd"),
        (tarfile.LNKTYPE, "../outside"),
        (tarfile.SYMTYPE, "ok.txt"),
    ],
)
def test_package_unpacking_refuses_every_tar_link(tmp_path: Path, kind: bytes, target: str) -> None:
    entries = [("ok.txt", b"fine"), tar_link("link", kind, target)]
    error = refusal(write_tar(tmp_path / "deposit.tar", entries), tmp_path)
    assert (error.rule, error.member) == ("link", "link")


def test_package_unpacking_refuses_zip_symlink_mode_bits(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("passwd")
    info.create_system = 3
    info.external_attr = (0o120777) << 16
    with zipfile.ZipFile(tmp_path / "deposit.zip", "w") as archive:
        archive.writestr(info, "/etc/passwd")
    assert refusal(tmp_path / "deposit.zip", tmp_path).rule == "link"


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_package_unpacking_refuses_tar_devices_and_fifos(tmp_path: Path, kind: bytes) -> None:
    error = refusal(write_tar(tmp_path / "deposit.tar", [tar_link("dev/null", kind, "")]), tmp_path)
    assert (error.rule, error.member) == ("device", "dev/null")


def test_package_unpacking_refuses_encrypted_zip_members(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "deposit.zip", {"secret.txt": b"flagged as encrypted"})
    data = bytearray(path.read_bytes())  # zipfile cannot write encrypted members: set the flag
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    path.write_bytes(bytes(data))
    error = refusal(path, tmp_path)
    assert (error.rule, error.member) == ("encrypted", "secret.txt")


def nested_zips(levels: int) -> bytes:
    data = zip_bytes({"page.txt": b"innermost"})
    for level in range(levels - 1):
        data = zip_bytes({f"level{level}.zip": data})
    return data


def test_package_unpacking_refuses_nesting_deeper_than_the_limit(tmp_path: Path) -> None:
    (tmp_path / "six.zip").write_bytes(nested_zips(6))
    error = refusal(tmp_path / "six.zip", tmp_path)
    assert error.rule == "depth"
    assert error.member == "level4.zip/level3.zip/level2.zip/level1.zip/level0.zip"
    (tmp_path / "five.zip").write_bytes(nested_zips(5))
    result = unpack(tmp_path / "five.zip", tmp_path / "work-five")
    innermost = [file for file in result.files if file.path.endswith("page.txt")]
    assert [file.depth for file in innermost] == [4]
    assert len(result.containers) == 4


def test_package_unpacking_refuses_a_nested_zip_bomb(tmp_path: Path) -> None:
    data = zip_bytes({"zeros.bin": bytes(1024**2)})
    for level in range(3):  # 42.zip-like: 16 copies of the level below, 4096 MiB in all
        data = zip_bytes({f"{level}-{copy}.zip": data for copy in range(16)})
    (tmp_path / "bomb.zip").write_bytes(data)
    limits = UnpackLimits(max_total_bytes=16 * 1024**2, max_ratio=1e9)
    assert refusal(tmp_path / "bomb.zip", tmp_path, limits).rule == "size"
    assert refusal(tmp_path / "bomb.zip", tmp_path).rule == "ratio"


def test_package_unpacking_refuses_a_high_ratio_member(tmp_path: Path) -> None:
    write_zip(tmp_path / "deposit.zip", {"blank.tif": bytes(8 * 1024**2)})
    error = refusal(tmp_path / "deposit.zip", tmp_path)
    assert (error.rule, error.member) == ("ratio", "blank.tif")
    small = write_zip(tmp_path / "small.zip", {"blank.tif": bytes(64 * 1024)})
    assert [file.size for file in unpack(small, tmp_path / "small").files] == [64 * 1024]


def lie_about_size(path: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    data = bytearray(path.read_bytes())
    data[22:26] = struct.pack("<I", declared)
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", declared)
    path.write_bytes(bytes(data))


def test_package_unpacking_counts_bytes_instead_of_trusting_headers(tmp_path: Path) -> None:
    write_zip(tmp_path / "small-lie.zip", {"scan.tif": bytes(4 * 1024**2)})
    lie_about_size(tmp_path / "small-lie.zip", 1000)
    limits = UnpackLimits(max_total_bytes=2 * 1024**2, max_ratio=1e9)
    assert refusal(tmp_path / "small-lie.zip", tmp_path, limits).rule == "corrupt"
    write_zip(tmp_path / "big-lie.zip", {"scan.tif": b"x" * 1000})
    lie_about_size(tmp_path / "big-lie.zip", 2**32 - 1)
    assert refusal(tmp_path / "big-lie.zip", tmp_path, limits).rule == "size"


def test_package_unpacking_refuses_too_many_members(tmp_path: Path) -> None:
    inner = zip_bytes({f"p{n}.txt": b"x" for n in range(6)})
    write_zip(tmp_path / "deposit.zip", {"a.txt": b"a", "b.txt": b"b", "inner.zip": inner})
    error = refusal(tmp_path / "deposit.zip", tmp_path, UnpackLimits(max_members=8))
    assert (error.rule, error.member) == ("members", "inner.zip/p5.txt")


def test_package_unpacking_refuses_corrupt_and_truncated_archives(tmp_path: Path) -> None:
    data = zip_bytes({"scan.tif": TIFF * 50})
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    assert refusal(tmp_path / "cut.zip", tmp_path).rule == "corrupt"
    tgz = write_tar(
        tmp_path / "whole.tar.gz", [("scan.tif", os.urandom(200_000))], "w:gz"
    ).read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(tgz[: len(tgz) // 2])
    assert refusal(tmp_path / "cut.tar.gz", tmp_path).rule == "corrupt"
    tar = write_tar(tmp_path / "whole.tar", [("a.txt", b"a"), ("b.txt", b"b")]).read_bytes()
    (tmp_path / "garbled.tar").write_bytes(tar[:1024] + b"\xff" * 512 + tar[1536:])
    assert refusal(tmp_path / "garbled.tar", tmp_path).rule == "corrupt"
    error = refusal(write_zip(tmp_path / "outer.zip", {"inner.zip": data[:100]}), tmp_path)
    assert (error.rule, error.member) == ("corrupt", "inner.zip")


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_package_unpacking_extracts_tar_in_any_compressor(tmp_path: Path, mode: str) -> None:
    submission = write_tar(
        tmp_path / "deposit", [("item/scan.tif", TIFF), ("item/mets.xml", b"<mets/>")], mode
    )
    assert container_kind(submission) == "tar"
    result = unpack(submission, tmp_path / "work")
    assert result.root == tmp_path / "work" / "package"
    assert [(f.path, f.size, f.depth, f.container) for f in result.files] == [
        ("item/mets.xml", 7, 0, False),
        ("item/scan.tif", len(TIFF), 0, False),
    ]
    assert (result.root / "item" / "scan.tif").read_bytes() == TIFF
    assert result.containers == ()


def test_package_unpacking_extracts_a_dspace_style_zip(tmp_path: Path) -> None:
    entries = {"ITEM@123/": b"", "ITEM@123/mets.xml": b"<mets/>", "ITEM@123/paper.pdf": b"%PDF-1.7"}
    entries["empty/"] = b""
    result = unpack(write_zip(tmp_path / "aip", entries), tmp_path / "work")
    assert [file.path for file in result.files] == ["ITEM@123/mets.xml", "ITEM@123/paper.pdf"]
    assert (result.root / "empty").is_dir()
    assert all(file.local_path.is_relative_to(tmp_path / "work") for file in result.files)


def test_package_unpacking_names_a_gzip_member_from_its_header(tmp_path: Path) -> None:
    with gzip.GzipFile(
        filename="scan.tif", mode="wb", fileobj=(tmp_path / "upload.bin").open("wb")
    ) as out:
        out.write(TIFF)
    assert container_kind(tmp_path / "upload.bin") == "gzip"
    named = unpack(tmp_path / "upload.bin", tmp_path / "named")
    assert [(f.path, f.size) for f in named.files] == [("scan.tif", len(TIFF))]
    (tmp_path / "report.txt.gz").write_bytes(gzip.compress(b"report", mtime=0))
    unnamed = unpack(tmp_path / "report.txt.gz", tmp_path / "unnamed")
    assert [f.path for f in unnamed.files] == ["report.txt"]
    assert (unnamed.root / "report.txt").read_bytes() == b"report"


def test_package_unpacking_judges_containers_by_content(tmp_path: Path) -> None:
    (tmp_path / "fake.zip").write_text("not an archive")
    assert container_kind(tmp_path / "fake.zip") is None
    result = unpack(tmp_path / "fake.zip", tmp_path / "work")
    assert [(f.path, f.container, f.depth) for f in result.files] == [("fake.zip", False, 0)]
    assert container_kind(write_zip(tmp_path / "data.bin", {"a": b"a"})) == "zip"
    assert container_kind(write_zip(tmp_path / "empty.zip", {})) == "zip"


def test_package_unpacking_keeps_zip_documents_whole(tmp_path: Path) -> None:
    docx = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    epub = zip_bytes({"mimetype": b"application/epub+zip", "OEBPS/a.xhtml": b"<html/>"})
    jar = zip_bytes({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0"})
    (tmp_path / "report.docx").write_bytes(docx)
    assert container_kind(tmp_path / "report.docx") is None
    result = unpack(
        write_zip(tmp_path / "deposit.zip", {"r.docx": docx, "b.epub": epub, "t.jar": jar}),
        tmp_path / "w",
    )
    assert [(f.path, f.container) for f in result.files] == [
        ("b.epub", False),
        ("r.docx", False),
        ("t.jar", False),
    ]
    assert result.containers == ()


def test_package_unpacking_normalises_names_and_reports_collisions(tmp_path: Path) -> None:
    decomposed, composed = unicodedata.normalize("NFD", "café.txt"), "café.txt"
    entries = {f"d/{decomposed}": b"first", f"d/{composed}": b"second", "ok.txt": b"ok"}
    result = unpack(write_zip(tmp_path / "deposit.zip", entries), tmp_path / "work")
    cafe = [file for file in result.files if file.path == "d/café.txt"]
    assert sorted(file.original_path for file in cafe) == sorted(
        [f"d/{decomposed}", f"d/{composed}"]
    )
    assert len({file.local_path for file in cafe}) == 2
    assert sorted(file.local_path.read_bytes() for file in cafe) == [b"first", b"second"]
    assert result.renamed == ((f"d/{decomposed}", "d/café.txt"),)
    assert result.name_collisions == ((f"d/{decomposed}", f"d/{composed}"),)


def make_bag_with_nested_zip(folder: Path) -> Path:
    (folder / "scans").mkdir(parents=True)
    (folder / "scans.zip").write_bytes(zip_bytes({"p1.tif": TIFF, "p2.tif": TIFF[::-1]}))
    (folder / "mets.xml").write_bytes(b"<mets/>")
    (folder / "scans").rmdir()
    bagit.make_bag(str(folder), checksums=["sha256"])
    return folder


def test_package_unpacking_a_bag_in_a_tar_gz_keeps_the_hierarchy(tmp_path: Path) -> None:
    bag = make_bag_with_nested_zip(tmp_path / "bag")
    with tarfile.open(tmp_path / "bag.tar.gz", "w:gz") as archive:
        archive.add(bag, arcname="bag")
    result = unpack(tmp_path / "bag.tar.gz", tmp_path / "work")
    assert result.containers == ("bag/data/scans.zip",)
    by_path = {file.path: file for file in result.files}
    assert by_path["bag/data/scans.zip"].container and by_path["bag/data/scans.zip"].depth == 0
    assert by_path["bag/data/scans.zip/p1.tif"].depth == 1
    assert by_path["bag/data/scans.zip/p2.tif"].local_path.read_bytes() == TIFF[::-1]
    assert not (result.root / "bag" / "data" / "scans.zip" / "p1.tif").exists()
    bagit.Bag(str(result.root / "bag")).validate()  # the embedded zip still verifies


def test_package_unpacking_reads_a_submitted_folder_in_place(tmp_path: Path) -> None:
    bag = make_bag_with_nested_zip(tmp_path / "bag")
    os.symlink(bag / "data" / "mets.xml", bag / "data" / "mets-link.xml")
    before = tree_snapshot(bag)
    result = unpack(bag, tmp_path / "work")
    assert tree_snapshot(bag) == before
    assert result.root == bag
    by_path = {file.path: file for file in result.files}
    assert by_path["data/mets.xml"].local_path == bag / "data" / "mets.xml"
    assert by_path["data/mets-link.xml"].size == len(b"<mets/>")
    assert by_path["data/scans.zip"].container and by_path["data/scans.zip"].depth == 0
    assert by_path["data/scans.zip/p1.tif"].depth == 1
    assert by_path["data/scans.zip/p1.tif"].local_path.is_relative_to(
        tmp_path / "work" / "containers"
    )


def test_package_unpacking_refuses_links_out_of_and_fifos_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    (tmp_path / "linked").mkdir()
    os.symlink(tmp_path / "outside.txt", tmp_path / "linked" / "escape.txt")
    assert refusal(tmp_path / "linked", tmp_path).rule == "link"
    (tmp_path / "piped").mkdir()
    os.mkfifo(tmp_path / "piped" / "pipe")
    assert refusal(tmp_path / "piped", tmp_path).member == "pipe"


def test_package_unpacking_refuses_a_name_that_is_file_and_folder(tmp_path: Path) -> None:
    error = refusal(
        write_zip(tmp_path / "deposit.zip", {"a": b"file", "a/b": b"under a file"}), tmp_path
    )
    assert (error.rule, error.member) == ("corrupt", "a/b")


def test_package_unpacking_keeps_exact_duplicates_apart(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        write_zip(tmp_path / "deposit.zip", {"x.txt": b"one"})
        with zipfile.ZipFile(tmp_path / "deposit.zip", "a") as archive:
            archive.writestr("x.txt", b"two")
    result = unpack(tmp_path / "deposit.zip", tmp_path / "work")
    assert sorted(file.local_path.read_bytes() for file in result.files) == [b"one", b"two"]
    assert result.name_collisions == (("x.txt", "x.txt"),)


def test_package_unpacking_inflates_bzip2_zip_members_in_bounded_steps(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "deposit.zip", "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("blank.tif", bytes(64 * 1024**2))  # a bzip2 bomb: 64 MiB in 100 bytes
        archive.writestr("scan.tif", TIFF)
    error = refusal(tmp_path / "deposit.zip", tmp_path)
    assert (error.rule, error.member) == ("ratio", "blank.tif")
    lie_about_size(tmp_path / "deposit.zip", 1000)  # blank.tif now claims 1000 bytes
    limits = UnpackLimits(max_ratio=1e9, max_total_bytes=2 * 1024**2)
    assert refusal(tmp_path / "deposit.zip", tmp_path, limits).rule == "size"
    assert (
        refusal(tmp_path / "deposit.zip", tmp_path, UnpackLimits(max_ratio=1e9)).rule == "corrupt"
    )
    with zipfile.ZipFile(tmp_path / "scans.zip", "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("scan.tif", TIFF)
    result = unpack(tmp_path / "scans.zip", tmp_path / "work")
    assert [file.local_path.read_bytes() for file in result.files] == [TIFF]


def test_package_unpacking_escapes_control_characters_in_messages(tmp_path: Path) -> None:
    error = refusal(write_zip(tmp_path / "deposit.zip", {"../line\nbreak": b"x"}), tmp_path)
    assert "\n" not in str(error) and "line\\x0abreak" in str(error)


def test_package_unpacking_refuses_links_to_folders_and_nesting_in_folders(tmp_path: Path) -> None:
    (tmp_path / "looped" / "sub").mkdir(parents=True)
    os.symlink(tmp_path / "looped" / "sub", tmp_path / "looped" / "again")
    error = refusal(tmp_path / "looped", tmp_path)
    assert (error.rule, error.member) == ("link", "again")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "inner.zip").write_bytes(nested_zips(2))
    error = refusal(tmp_path / "nested", tmp_path, UnpackLimits(max_depth=1))
    assert (error.rule, error.member) == ("depth", "inner.zip/level0.zip")


def test_package_unpacking_keeps_the_work_folder_out_of_a_submitted_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the submitted folder"):
        unpack(tmp_path, tmp_path / "work")


def test_package_unpacking_refuses_oversized_tar_metadata_and_non_utf8_names(
    tmp_path: Path,
) -> None:
    with tarfile.open(
        tmp_path / "pax.tar",
        "w",
        format=tarfile.PAX_FORMAT,
        pax_headers={"comment": "x" * 2 * 1024**2},
    ) as archive:
        archive.addfile(tarfile.TarInfo("empty.txt"))
    assert refusal(tmp_path / "pax.tar", tmp_path).rule == "corrupt"
    with tarfile.open(
        tmp_path / "latin.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as archive:
        archive.addfile(tarfile.TarInfo("caf\xe9.txt"))
    error = refusal(tmp_path / "latin.tar", tmp_path)
    assert error.rule == "corrupt" and "UTF-8" in str(error)
