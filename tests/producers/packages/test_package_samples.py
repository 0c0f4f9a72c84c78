"""The sample submission packages are what they claim to be, byte for byte reproducible."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import bagit
import pygfried
import pytest
from lxml import etree

from heritage.producers.packages import sample_packages as samples
from heritage.producers.packages.scanner_signatures import eicar_test_file

NS = {
    "mets": "http://www.loc.gov/METS/",
    "mods": "http://www.loc.gov/mods/v3",
    "xlink": "http://www.w3.org/1999/xlink",
}
HREF = "{http://www.w3.org/1999/xlink}href"
# The well-known digest of the 68-byte EICAR test file.
EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f"
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _mets(members: dict[str, bytes]) -> etree._Element:
    return etree.fromstring(members["mets.xml"], SAFE_PARSER)


def _wrong_checksums(mets: etree._Element, members: dict[str, bytes]) -> list[str]:
    """The hrefs whose declared MD5 or size does not match the member's bytes."""
    wrong = []
    for file in mets.iterfind("mets:fileSec//mets:file", NS):
        assert file.get("CHECKSUMTYPE") == "MD5"
        href = file.find("mets:FLocat", NS).get(HREF)
        data = members[href]
        if file.get("CHECKSUM") != hashlib.md5(data).hexdigest():
            wrong.append(href)
        assert int(file.get("SIZE")) == len(data)
    return wrong


def _listed(mets: etree._Element) -> set[str]:
    return {loc.get(HREF) for loc in mets.iterfind("mets:fileSec//mets:FLocat", NS)}


def _title(mets: etree._Element) -> str:
    return mets.findtext(".//mods:titleInfo/mods:title", namespaces=NS)


def test_dspace_zip_is_an_item_aip_whose_mets_checksums_match(tmp_path: Path) -> None:
    path = samples.dspace_zip(tmp_path)
    members = _zip_members(path)
    mets = _mets(members)

    assert path.name == "ITEM@123456789-2703.zip"
    assert next(iter(members)) == "mets.xml"
    assert mets.get("OBJID") == "hdl:123456789/2703"
    assert mets.get("TYPE") == "DSpace ITEM"
    mods = mets.find("mets:dmdSec/mets:mdWrap[@MDTYPE='MODS']/mets:xmlData/mods:mods", NS)
    assert _title(mets)
    assert mods.findtext("mods:identifier[@type='uri']", namespaces=NS).endswith("/2703")
    assert "," in mods.findtext("mods:name/mods:namePart", namespaces=NS)
    assert mods.findtext("mods:originInfo/mods:dateIssued", namespaces=NS)[:2] == "20"
    assert mods.findtext("mods:language/mods:languageTerm", namespaces=NS) == "eng"
    assert mods.find("mods:accessCondition", NS).get(HREF).startswith("http://")
    uses = [group.get("USE") for group in mets.iterfind("mets:fileSec/mets:fileGrp", NS)]
    assert uses == ["ORIGINAL", "TEXT", "THUMBNAIL", "LICENSE"]
    assert _listed(mets) == set(members) - {"mets.xml"}
    assert _wrong_checksums(mets, members) == []
    logical = mets.find("mets:structMap[@TYPE='LOGICAL']", NS)
    assert logical.find(".//mets:fptr", NS).get("FILEID") == "bitstream_1"


def test_dspace_zip_files_are_real_pdf_text_jpeg_and_licence(tmp_path: Path) -> None:
    members = _zip_members(samples.dspace_zip(tmp_path))

    pdf = members["item-2703.pdf"]
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.count(b"/Type /Page\n") == 3
    assert len(members["item-2703.pdf.txt"].decode("utf-8").splitlines()) == 3 * 36
    assert members["item-2703.pdf.jpg"][:3] == b"\xff\xd8\xff"
    assert b"NON-EXCLUSIVE DISTRIBUTION LICENSE" in members["license.txt"]


def test_dspace_zip_is_the_same_bytes_every_time_and_differs_per_handle(tmp_path: Path) -> None:
    first, second, other = (tmp_path / name for name in ("a", "b", "c"))
    for folder in (first, second, other):
        folder.mkdir()

    once = samples.dspace_zip(first).read_bytes()
    again = samples.dspace_zip(second).read_bytes()
    another = samples.dspace_zip(other, handle="123456789/2704").read_bytes()

    assert once == again
    assert another != once
    for variant in (1, 2):
        revised = samples.dspace_zip(first, variant=variant).read_bytes()
        assert revised == samples.dspace_zip(second, variant=variant).read_bytes()


def test_dspace_variant_2_changes_one_file_adds_one_removes_one_and_the_title(
    tmp_path: Path,
) -> None:
    old = _zip_members(samples.dspace_zip(tmp_path))
    new = _zip_members(samples.dspace_zip(tmp_path, variant=2))
    old_files = set(old) - {"mets.xml"}
    new_files = set(new) - {"mets.xml"}

    changed = {name for name in old_files & new_files if old[name] != new[name]}
    assert changed == {"item-2703.pdf"}
    assert new_files - old_files == {"item-2703-data.csv"}
    assert old_files - new_files == {"item-2703.pdf.jpg"}
    assert _mets(new).get("OBJID") == _mets(old).get("OBJID")
    assert _title(_mets(new)) != _title(_mets(old))
    assert _wrong_checksums(_mets(new), new) == []
    assert _listed(_mets(new)) == new_files


def test_dspace_zip_refuses_an_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variant"):
        samples.dspace_zip(tmp_path, variant=3)


def test_wrong_checksum_zip_has_exactly_one_wrong_md5(tmp_path: Path) -> None:
    members = _zip_members(samples.wrong_checksum_zip(tmp_path))
    mets = _mets(members)

    assert _wrong_checksums(mets, members) == ["item-4040.pdf"]
    assert _listed(mets) == set(members) - {"mets.xml"}


def _extract(archive: Path, into: Path) -> Path:
    into.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def test_bag_in_the_targz_validates_and_holds_tiffs_and_a_zip_of_jpegs(tmp_path: Path) -> None:
    path = samples.bag_targz_with_nested_zip(tmp_path)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    unpacked = _extract(path, tmp_path / "unpacked")

    assert path.name == "lab-batch-0042.tar.gz"
    assert names[0] == "lab-batch-0042"
    assert all(name.split("/")[0] == "lab-batch-0042" for name in names)
    bag = bagit.Bag(str(unpacked / "lab-batch-0042"))
    bag.validate()
    assert bag.version_info == (1, 0)
    assert bag.algorithms == ["sha256"]
    assert bag.info["External-Identifier"] == "lab-batch-0042"
    assert bag.info["Bagging-Date"] == "2024-03-14"
    assert bag.info["Source-Organization"]
    assert bag.info["Payload-Oxum"].endswith(".5")
    assert (unpacked / "lab-batch-0042" / "tagmanifest-sha256.txt").is_file()
    payload = sorted(bag.payload_files())
    assert [name for name in payload if name.endswith(".tif")] == [
        f"data/tiff/plate-00{n}.tif" for n in (1, 2, 3)
    ]
    nested = unpacked / "lab-batch-0042" / "data" / "derivatives" / "plates-jpeg.zip"
    jpegs = _zip_members(nested)
    assert len(jpegs) == 3
    assert all(data[:3] == b"\xff\xd8\xff" for data in jpegs.values())


def test_bag_targz_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()

    once = samples.bag_targz_with_nested_zip(first, "lab-batch-0001").read_bytes()

    assert once == samples.bag_targz_with_nested_zip(second, "lab-batch-0001").read_bytes()


def test_nested_eicar_package_holds_the_test_file_two_containers_deep(tmp_path: Path) -> None:
    path = samples.nested_eicar_package(tmp_path)
    with tarfile.open(path) as tar:
        top = {
            member.name: tar.extractfile(member).read()
            for member in tar.getmembers()
            if member.isfile()
        }
    attachments = _zip_members_of(top["deposit-eicar/attachments.zip"])

    assert path.name.endswith(".tar.gz")
    eicar = attachments["eicar.com"]
    assert len(eicar) == 68
    assert hashlib.md5(eicar).hexdigest() == EICAR_MD5
    assert set(attachments) == {"scans/page-001.jpg", "notes.txt", "eicar.com"}
    members = {name.removeprefix("deposit-eicar/"): data for name, data in top.items()}
    assert _wrong_checksums(_mets(members), members) == []


def _zip_members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_no_source_file_holds_the_eicar_string_whole() -> None:
    whole = eicar_test_file().decode("ascii")
    package_sources = Path(samples.__file__).parent

    for source in package_sources.glob("sample_*.py"):
        assert whole not in source.read_text(encoding="utf-8"), source.name
    assert whole not in Path(__file__).read_text(encoding="utf-8")


def test_zip_slip_package_has_a_member_that_climbs_out(tmp_path: Path) -> None:
    with zipfile.ZipFile(samples.zip_slip_package(tmp_path)) as archive:
        names = archive.namelist()

    assert "../../evil.txt" in names
    assert "deposit/readme.txt" in names


def test_zip_bomb_is_small_on_disk_and_huge_unpacked(tmp_path: Path) -> None:
    path = samples.zip_bomb_package(tmp_path)
    on_disk = path.stat().st_size
    unpacked = 0
    with zipfile.ZipFile(path) as outer:
        for member in outer.infolist():
            assert member.file_size > 100 * member.compress_size
            with zipfile.ZipFile(io.BytesIO(outer.read(member))) as inner:
                unpacked += sum(info.file_size for info in inner.infolist())

    assert on_disk < 64 * 1024
    assert unpacked == 1000 * 1024 * 1024
    assert unpacked / on_disk > 1000


def test_symlink_package_links_to_etc_passwd_and_a_safe_extract_refuses_it(
    tmp_path: Path,
) -> None:
    path = samples.symlink_out_package(tmp_path)
    with tarfile.open(path) as tar:
        links = [member for member in tar.getmembers() if member.issym()]
        with pytest.raises(tarfile.FilterError):
            tar.extractall(tmp_path / "unpacked", filter="data")

    assert [(link.name, link.linkname) for link in links] == [("deposit/passwd", "/etc/passwd")]


def _package_files(path: Path, into: Path) -> dict[str, bytes]:
    """Every file of a bench package, nested zips opened, by path inside the package."""
    if path.name.endswith(".zip"):
        return _zip_members(path)
    bag = _extract(path, into) / path.name.removesuffix(".tar.gz")
    bagit.Bag(str(bag)).validate()
    files = {p.relative_to(bag).as_posix(): p.read_bytes() for p in bag.rglob("*") if p.is_file()}
    nested = _zip_members_of(files["data/derivatives.zip"])
    files.update({f"data/derivatives.zip/{name}": data for name, data in nested.items()})
    return files


def test_bench_packages_mix_three_kinds_each_with_the_asked_files(tmp_path: Path) -> None:
    paths = samples.bench_packages(tmp_path, count=6, files_per_package=10, seed=3)

    names = [path.name for path in paths]
    assert names == [
        "ITEM@20.500.12003-1.zip",
        "bench-3-batch-0001.tar.gz",
        "volume-3-0002.zip",
        "ITEM@20.500.12003-4.zip",
        "bench-3-batch-0004.tar.gz",
        "volume-3-0005.zip",
    ]
    suffixes = {".tif", ".jpg", ".png", ".pdf", ".txt", ".xml", ".csv"}
    for number, path in enumerate(paths):
        files = _package_files(path, tmp_path / f"unpacked-{number}")
        if path.name.endswith(".zip"):
            payload = set(files) - {"mets.xml"}
            assert _wrong_checksums(_mets(files), files) == []
            assert _listed(_mets(files)) == payload
        else:
            tag_files = {name for name in files if not name.startswith("data/")}
            payload = set(files) - tag_files - {"data/derivatives.zip"}
        assert len(payload) == 10, path.name
        assert {Path(name).suffix for name in payload} == suffixes, path.name


def test_bench_packages_are_reproducible_per_seed(tmp_path: Path) -> None:
    runs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        folder = tmp_path / label
        folder.mkdir()
        paths = samples.bench_packages(folder, count=3, files_per_package=7, seed=seed)
        runs[label] = [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]

    assert runs["a"] == runs["b"]
    assert not set(runs["a"]) & set(runs["c"])


def test_bench_packages_need_seven_files_each(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 7 files"):
        samples.bench_packages(tmp_path, count=1, files_per_package=6)


def test_bench_files_are_identified_by_their_pronom_format(tmp_path: Path) -> None:
    (path,) = samples.bench_packages(tmp_path, count=1, files_per_package=7, seed=5)
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unpacked)
    expected = {
        ".tif": "fmt/353",
        ".jpg": "fmt/43",
        ".png": "fmt/11",
        ".pdf": "fmt/18",
        ".txt": "x-fmt/111",
        ".xml": "fmt/101",
        ".csv": "x-fmt/18",
    }

    found = {
        file.suffix: pygfried.identify(str(file)) for file in unpacked.rglob("*") if file.is_file()
    }

    assert found == expected
