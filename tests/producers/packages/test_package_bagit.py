"""BagIt validation: the Library of Congress conformance suite, and bags made here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import bagit
import pytest

from heritage.producers.packages.bag_validation import (
    BagVerdict,
    bag_identifier,
    bagit_txt_problems,
    find_bag_root,
    unsafe_path_reason,
    validate_bag,
)

# Every bag of the suite, as <version>/<expected result>/<bag>.
SUITE_BAGS = {
    "v0.93/valid": ("basic-bag", "duplicate-metadata-entries"),
    "v0.94/valid": ("basic-bag", "duplicate-metadata-entries"),
    "v0.95/valid": ("basic-bag", "duplicate-metadata-entries"),
    "v0.96/valid": (
        "bag-in-a-bag",
        "bag-with-encoded-names",
        "bag-with-escapable-characters",
        "bag-with-leading-dot-slash-in-manifest",
        "bag-with-space",
        "basic-bag",
        "duplicate-metadata-entries",
        "holey-bag",
    ),
    "v0.97/invalid": (
        "baginfo-missing-encoding",
        "bom-in-bagit.txt",
        "corrupt-data-file",
        "corrupt-tag-file",
        "extra-file-in-bag",
        "invalid-version-number",
        "missing-baginfo",
        "missing-bagit.txt",
        "out-of-scope-file-paths-using-dot-notation",
        "out-of-scope-file-paths-using-dot-notation-for-fetch",
        "same-filename-listed-twice-with-different-hashes",
    ),
    "v0.97/linux-only": (
        "out-of-scope-file-paths-using-absolute-path",
        "out-of-scope-file-paths-using-absolute-path-for-fetch",
        "out-of-scope-file-paths-using-shortcut",
        "out-of-scope-file-paths-using-shortcut-for-fetch",
        "out-of-scope-file-paths-using-shortcut-username",
        "out-of-scope-file-paths-using-shortcut-username-for-fetch",
    ),
    "v0.97/valid": (
        "ISO-8859-1-encoded-tag-files",
        "UTF-16-encoded-tag-files",
        "bag-in-a-bag",
        "bag-with-encoded-names",
        "bag-with-escapable-characters",
        "bag-with-leading-dot-slash-in-manifest",
        "bag-with-space",
        "basic-bag",
        "duplicate-metadata-entries",
        "holey-bag",
        "minimal-bag",
        "uncommon-metadata-separators",
    ),
    "v0.97/warning": (
        "duplicate-file-with-different-case",
        "made-with-md5sum-tools",
        "relative-path",
        "same-filename-listed-twice-with-different-normalization",
        "same-filename-listed-twice-with-the-same-hash",
        "special-system-files",
    ),
    "v0.97/windows-only": (
        "out-of-scope-file-paths-using-absolute-path",
        "out-of-scope-file-paths-using-absolute-path-for-fetch",
        "out-of-scope-file-paths-using-shortcut",
        "out-of-scope-file-paths-using-shortcut-for-fetch",
        "out-of-scope-file-paths-using-unc",
        "out-of-scope-file-paths-using-unc-for-fetch",
    ),
    "v1.0/invalid": (
        "bagit-with-invalid-whitespace",
        "notAllManifestsListAllFiles",
        "same-filename-listed-twice-with-different-hashes",
        "same-filename-listed-twice-with-the-same-hash",
    ),
    "v1.0/valid": ("basicBag",),
}
ALL_BAGS = [f"{group}/{name}" for group, names in SUITE_BAGS.items() for name in names]
# warning/ bags whose manifests name files the suite does not hold on a case-sensitive file
# system (see the corpus notes): incomplete, so rejected.
INCOMPLETE_WARNING_BAGS = {
    "v0.97/warning/duplicate-file-with-different-case",
    "v0.97/warning/same-filename-listed-twice-with-different-normalization",
    "v0.97/warning/special-system-files",
}


def expected_valid(bag: str) -> bool:
    """valid/ and warning/ bags are accepted; invalid/, linux-only/ and windows-only/ ones
    (out-of-bag paths are refused on every system) and the incomplete warning bags are not."""
    result = bag.split("/")[1]
    return result in {"valid", "warning"} and bag not in INCOMPLETE_WARNING_BAGS


def test_the_suite_list_names_every_bag_of_the_corpus(corpus_dir: Path) -> None:
    on_disk = {
        str(path.relative_to(corpus_dir / "bagit")) for path in (corpus_dir / "bagit").glob("*/*/*")
    }
    assert on_disk == set(ALL_BAGS)


@pytest.mark.parametrize("bag", ALL_BAGS)
def test_every_suite_bag_gets_its_expected_verdict(corpus_dir: Path, bag: str) -> None:
    verdict = validate_bag(corpus_dir / "bagit" / bag)
    assert verdict.valid is expected_valid(bag), verdict.reasons
    if verdict.valid:
        assert verdict.reasons == ()
        assert verdict.version is not None
        assert verdict.payload_digests
    else:
        assert verdict.reasons
        assert all(reason.strip() for reason in verdict.reasons)
        assert verdict.payload_digests == {}
    if bag.split("/")[1] == "warning":
        assert verdict.warnings, "a warning/ bag says what it warns about"


def test_a_space_before_the_colon_in_bagit_txt_is_rejected(corpus_dir: Path) -> None:
    verdict = validate_bag(corpus_dir / "bagit/v1.0/invalid/bagit-with-invalid-whitespace")
    assert verdict.reasons[0].startswith("bagit.txt line 1:")


def test_md5sum_style_manifests_are_accepted_with_a_warning(corpus_dir: Path) -> None:
    verdict = validate_bag(corpus_dir / "bagit/v0.97/warning/made-with-md5sum-tools")
    assert verdict.valid
    assert "manifest-md5.txt line 1: '*' before the path" in verdict.warnings[0]
    assert verdict.payload_digests == {
        "data/hello.txt": {"md5": "b1946ac92492d2347c6235b4d2611184"}
    }


def test_out_of_bag_paths_are_named_with_their_line(corpus_dir: Path) -> None:
    verdict = validate_bag(
        corpus_dir / "bagit/v0.97/windows-only/out-of-scope-file-paths-using-unc"
    )
    unc = r"\\?\UNC\server\Windows\System32\setx.exe"
    assert verdict.reasons == (
        f"manifest-md5.txt line 3: path {unc!r} is a UNC path; it is not read",
    )


def test_a_suite_bag_reports_its_info_and_identifier(corpus_dir: Path) -> None:
    verdict = validate_bag(corpus_dir / "bagit/v0.97/valid/holey-bag")
    assert verdict.valid
    assert verdict.identifier == "spengler_yoshimuri_001"
    assert verdict.info["Contact-Name"] == ("Edna Janssen",)
    assert set(verdict.payload_digests) >= {"data/test 1.txt", "data/dir2/dir3/test5.txt"}


def _bag(tmp_path: Path, files: dict[str, bytes], info: dict[str, str] | None = None) -> Path:
    bag_dir = tmp_path / "bag"
    bag_dir.mkdir()
    for name, content in files.items():
        (bag_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (bag_dir / name).write_bytes(content)
    bagit.make_bag(str(bag_dir), info or {}, checksums=["sha256", "md5"])
    return bag_dir


def _add_fetch_entry(bag_dir: Path, path: str, content: bytes, *, keep_file: bool) -> None:
    """List ``path`` in fetch.txt and the manifests, with its file present or not."""
    (bag_dir / "fetch.txt").write_text(f"https://example.org/{path} {len(content)} {path}\n")
    for algorithm in ("sha256", "md5"):
        digest = hashlib.new(algorithm, content).hexdigest()
        with (bag_dir / f"manifest-{algorithm}.txt").open("a") as manifest:
            manifest.write(f"{digest}  {path}\n")
    if keep_file:
        (bag_dir / path).write_bytes(content)
    info = (bag_dir / "bag-info.txt").read_text()
    (bag_dir / "bag-info.txt").write_text(
        "\n".join(line for line in info.splitlines() if not line.startswith("Payload-Oxum")) + "\n"
    )
    bagit.Bag(str(bag_dir)).save(manifests=False)


def test_a_bag_made_here_validates_with_both_digests(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"scan.tif": b"II*\x00tiff"}, {"External-Identifier": "pkg-7"})
    verdict = validate_bag(bag_dir)
    assert verdict == BagVerdict(
        valid=True,
        reasons=(),
        warnings=(),
        version="0.97",  # what bagit 1.9.0 writes
        info=verdict.info,
        identifier="pkg-7",
        payload_digests={
            "data/scan.tif": {
                "sha256": hashlib.sha256(b"II*\x00tiff").hexdigest(),
                "md5": hashlib.md5(b"II*\x00tiff").hexdigest(),
            }
        },
        tag_digests=verdict.tag_digests,
    )
    assert verdict.info["External-Identifier"] == ("pkg-7",)
    tag_file = (bag_dir / "bag-info.txt").read_bytes()
    assert verdict.tag_digests["bag-info.txt"]["sha256"] == hashlib.sha256(tag_file).hexdigest()


def test_without_fixity_a_changed_file_passes_validation_and_its_digests_are_given(
    tmp_path: Path,
) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"})
    (bag_dir / "data/a.txt").write_bytes(b"eno")
    assert not validate_bag(bag_dir).valid
    quick = validate_bag(bag_dir, fixity=False)
    assert quick.valid, quick.reasons
    assert quick.payload_digests["data/a.txt"]["sha256"] == hashlib.sha256(b"one").hexdigest()


def test_a_changed_payload_file_is_named(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one", "b.txt": b"two"})
    (bag_dir / "data/b.txt").write_bytes(b"owt")
    verdict = validate_bag(bag_dir)
    assert not verdict.valid
    assert any("data/b.txt sha256 validation failed" in reason for reason in verdict.reasons)


def test_a_fetch_entry_whose_file_is_absent_rejects_the_bag(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"}, {"External-Identifier": "pkg-9"})
    _add_fetch_entry(bag_dir, "data/remote.txt", b"remote", keep_file=False)
    verdict = validate_bag(bag_dir)
    assert not verdict.valid
    assert verdict.reasons == (
        "fetch.txt line 1: data/remote.txt is missing from the bag and would have to be "
        "fetched from https://example.org/data/remote.txt; nothing is fetched here, so send "
        "the bag with its payload complete",
    )
    assert verdict.identifier == "pkg-9"


def test_a_fetch_entry_whose_file_is_present_is_fine(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"})
    _add_fetch_entry(bag_dir, "data/remote.txt", b"remote", keep_file=True)
    verdict = validate_bag(bag_dir)
    assert verdict.valid, verdict.reasons
    assert set(verdict.payload_digests) == {"data/a.txt", "data/remote.txt"}


def test_a_manifest_path_out_of_the_bag_is_rejected_unread(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"})
    (tmp_path / "secret.txt").write_bytes(b"secret")
    digest = hashlib.sha256(b"secret").hexdigest()
    with (bag_dir / "manifest-sha256.txt").open("a") as manifest:
        manifest.write(f"{digest}  data/../../secret.txt\n")
    verdict = validate_bag(bag_dir)
    assert not verdict.valid
    assert verdict.reasons == (
        "manifest-sha256.txt line 2: path 'data/../../secret.txt' steps out with '..'; "
        "it is not read",
    )


def test_a_symbolic_link_in_the_payload_rejects_the_bag(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"})
    (tmp_path / "outside.txt").write_bytes(b"outside")
    (bag_dir / "data/link.txt").symlink_to(tmp_path / "outside.txt")
    verdict = validate_bag(bag_dir)
    assert not verdict.valid
    assert verdict.reasons[0].startswith("data/link.txt is a symbolic link")


def test_a_folder_that_is_no_bag_is_rejected_not_raised(tmp_path: Path) -> None:
    verdict = validate_bag(tmp_path)
    assert not verdict.valid
    assert "bagit.txt" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("data/a.txt", None),
        ("data/dir1/~test3.txt", None),
        ("data/%7Etest1.txt", None),
        ("data/%test2.txt", None),
        ("/etc/passwd", "is absolute"),
        ("~/x", "starts with '~', a home-folder shortcut"),
        ("data/../../x", "steps out with '..'"),
        ("C:/Windows/x", "names a Windows drive"),
        ("\\\\server\\share\\x", "is a UNC path"),
        ("data\\x", "uses '\\' as a separator; BagIt paths use '/'"),
        ("%HomeDrive%/x", "holds a %VARIABLE% reference"),
        ("", "is empty"),
    ],
)
def test_unsafe_paths_are_told_from_their_text(path: str, reason: str | None) -> None:
    assert unsafe_path_reason(path) == reason


def test_bagit_txt_must_hold_its_two_lines_in_order() -> None:
    good = "BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n"
    assert bagit_txt_problems(good) == []
    swapped = "Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n"
    assert bagit_txt_problems(swapped) == [
        "bagit.txt holds Tag-File-Character-Encoding, BagIt-Version; it must hold exactly "
        "BagIt-Version and Tag-File-Character-Encoding, in that order"
    ]


def test_the_identifier_comes_from_the_most_specific_label() -> None:
    assert bag_identifier({"Bag-Group-Identifier": ("g",), "external-identifier": (" e ",)}) == "e"
    assert (
        bag_identifier({"Bag-Group-Identifier": ("g",), "Internal-Sender-Identifier": ("i",)})
        == "i"
    )
    assert bag_identifier({"Bag-Group-Identifier": ("", "g")}) == "g"
    assert bag_identifier({"Source-Organization": ("x",)}) is None


def test_the_bag_root_is_the_folder_or_its_only_folder(tmp_path: Path) -> None:
    bag_dir = _bag(tmp_path, {"a.txt": b"one"})
    assert find_bag_root(bag_dir) == bag_dir
    assert find_bag_root(tmp_path) == bag_dir
    (tmp_path / "note.txt").write_text("x")
    assert find_bag_root(tmp_path) is None
    assert find_bag_root(tmp_path / "absent") is None
