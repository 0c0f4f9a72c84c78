"""Sample submission packages, shaped like what libraries and archives deposit.

Each builder writes one package into the folder it is given and returns its path; the same
arguments always give the same bytes. The well-formed ones:

- :func:`dspace_zip`: a DSpace item AIP zip (METS with MODS and MD5s, the PDF, its extracted
  text, its thumbnail, the deposit licence); ``variant=2`` is the item revised.
- :func:`bag_targz_with_nested_zip`: a lab's BagIt 1.0 bag of TIFFs with a zip of JPEGs
  inside, as a tar.gz.
- :func:`bench_packages`: a few hundred mixed packages for the ingest benchmark
  (:mod:`heritage.producers.packages.sample_bulk_packages`).

And those an ingest workflow must stop: a wrong METS checksum, a virus (the EICAR test file)
two containers deep, a zip-slip member, a zip bomb, and a tar with a link out of the package.
"""

from __future__ import annotations

import io
import random
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from heritage.producers.packages import sample_media as media
from heritage.producers.packages.sample_archives import (
    TarEntry,
    folder_entries,
    write_tar,
    write_zip,
    zip_bytes,
    zip_member,
)
from heritage.producers.packages.sample_bags import make_bag_1_0
from heritage.producers.packages.sample_bulk_packages import build_bulk_package
from heritage.producers.packages.sample_mets import (
    DSPACE_AIP_PROFILE,
    MetsFile,
    MetsHeader,
    dspace_item_mets,
    invented_description,
)
from heritage.producers.packages.scanner_signatures import eicar_test_file

DSPACE_VERSION = "DSpace 7.6.1"
# metsHdr CREATEDATE of each variant of an item: the revision is exported later.
_EXPORTED = {1: "2024-03-14T09:26:53Z", 2: "2025-01-20T14:02:11Z"}
_DEPOSIT_LICENSE = """NON-EXCLUSIVE DISTRIBUTION LICENSE

By depositing this item, you (the author or copyright owner) grant the repository the
non-exclusive, worldwide right to reproduce, convert (as defined below) and distribute your
submission, including the abstract, in print and electronic form and in any medium.

You agree that the repository may, without changing the content, convert the submission to
any medium or format for the purpose of preservation, and keep more than one copy of it for
security, back-up and preservation.

You represent that the submission is your original work and that you have the right to
grant the rights in this license. If the submission contains material for which you do not
hold copyright, you represent that you have obtained the unrestricted permission of the
copyright owner to grant these rights, and that such material is clearly identified.

The repository will clearly identify your name as the author or owner of the submission
and will not make any alteration, other than as allowed by this license, to your submission.
"""


# Theses under embargo, by handle: the demo's thesis until the end of a day far ahead (a date
# alone), another one whose embargo has ended (an instant with its offset).
EMBARGOES = {"123456789/2703": "2099-12-31", "123456789/2704": "2021-06-30T17:00:00+02:00"}


def _dspace_files(handle: str, variant: int, rng: random.Random, stem: str) -> list[MetsFile]:
    """The item's bitstreams by bundle. Variant 2 revises the PDF (an erratum page), adds a
    dataset and drops the thumbnail; the extracted text stays as it was."""
    pages = [media.prose_lines(rng, 36) for _ in range(3)]
    text = media.text_bytes([line for page in pages for line in page])
    if variant >= 2:
        pages.append(["Erratum", *media.prose_lines(rng, 8)])
    pdf_name, text_name = f"{stem}.pdf", f"{stem}.pdf.txt"
    pdf = media.prose_pdf_bytes(pages, title=f"hdl:{handle}", author=DSPACE_VERSION)
    files = [MetsFile(pdf_name, pdf, "application/pdf", "ORIGINAL")]
    if variant >= 2:
        dataset = media.csv_bytes(rng, handle, rows=40)
        files.append(MetsFile(f"{stem}-data.csv", dataset, "text/csv", "ORIGINAL"))
    files.append(MetsFile(text_name, text, "text/plain", "TEXT", derived_from=pdf_name))
    if variant < 2:
        thumbnail = media.thumbnail_jpeg_bytes(pages[0])
        files.append(MetsFile(f"{stem}.pdf.jpg", thumbnail, "image/jpeg", "THUMBNAIL", pdf_name))
    files.append(MetsFile("license.txt", _DEPOSIT_LICENSE.encode(), "text/plain", "LICENSE"))
    return files


def _dspace_members(
    handle: str, variant: int, wrong_checksum: bool = False
) -> tuple[str, list[tuple[str, bytes]]]:
    """The zip name and members (mets.xml first) of one DSpace item export."""
    if variant not in _EXPORTED:
        raise ValueError(f"dspace_zip: variant must be 1 or 2, not {variant}")
    prefix, _, suffix = handle.partition("/")
    rng = random.Random(f"dspace/{handle}")  # the item's content; variant 2 draws more
    description = invented_description(rng, f"http://hdl.handle.net/{handle}", "Thesis")
    description = replace(description, embargo_until=EMBARGOES.get(handle))
    files = _dspace_files(handle, variant, rng, stem=f"item-{suffix}")
    if variant >= 2:
        description = replace(description, title=f"{description.title} (revised edition)")
    if wrong_checksum:
        first = files[0]
        files[0] = replace(first, declared_md5=_corrupted(first.md5))
    header = MetsHeader(
        mets_id=f"DSpace_ITEM_{prefix}-{suffix}",
        objid=f"hdl:{handle}",
        mets_type="DSpace ITEM",
        profile=DSPACE_AIP_PROFILE,
        created=_EXPORTED[variant],
        custodian=f"hdl:{prefix}/0",
        creator=DSPACE_VERSION,
    )
    mets = dspace_item_mets(header, description, files, parent_handle=f"{prefix}/1")
    name = f"ITEM@{prefix}-{suffix}" + ("" if variant == 1 else f"-v{variant}")
    return f"{name}.zip", [("mets.xml", mets), *((file.href, file.data) for file in files)]


def _corrupted(md5: str) -> str:
    """The digest with its first hex digit changed: well-formed, and wrong."""
    return f"{'0' if md5[0] != '0' else '1'}{md5[1:]}"


def dspace_zip(dest: Path, handle: str = "123456789/2703", variant: int = 1) -> Path:
    """A DSpace item AIP zip; ``variant=2``: the PDF revised, a CSV added, the thumbnail
    removed and the title changed (checksums right). Named ``ITEM@<prefix>-<id>[-v2].zip``."""
    name, members = _dspace_members(handle, variant)
    return write_zip(dest / name, members)


def wrong_checksum_zip(dest: Path) -> Path:
    """A DSpace item zip whose METS declares a wrong MD5 for the PDF (and only for it)."""
    name, members = _dspace_members("123456789/4040", 1, wrong_checksum=True)
    return write_zip(dest / name, members)


def _lab_bag_payload(folder: Path, identifier: str) -> None:
    rng = random.Random(f"bag/{identifier}")
    (folder / "tiff").mkdir(parents=True)
    for plate in range(1, 4):
        tiff = media.tiff_bytes(rng, 480, 360)
        (folder / "tiff" / f"plate-{plate:03d}.tif").write_bytes(tiff)
    jpegs = [(f"plate-{plate:03d}.jpg", media.jpeg_bytes(rng, 640, 480)) for plate in range(1, 4)]
    (folder / "derivatives").mkdir()
    (folder / "derivatives" / "plates-jpeg.zip").write_bytes(zip_bytes(jpegs))
    (folder / "inventory.csv").write_bytes(media.csv_bytes(rng, identifier, rows=3))


def bag_targz_with_nested_zip(dest: Path, identifier: str = "lab-batch-0042") -> Path:
    """``<identifier>.tar.gz``: a BagIt 1.0 bag (``<identifier>/`` the top entry) whose
    ``data/`` holds three TIFFs, a zip of three JPEGs and an inventory CSV."""
    with tempfile.TemporaryDirectory(prefix="sample-bag-") as scratch:
        folder = Path(scratch) / identifier
        _lab_bag_payload(folder, identifier)
        make_bag_1_0(
            folder,
            {
                "Source-Organization": "Institute of Marine Zoology, Imaging Laboratory",
                "Contact-Name": "Digitisation desk",
                "Contact-Email": "digitisation@imz.example.org",
                "External-Description": "Glass plate negatives, batch scanned at 400 dpi",
                "External-Identifier": identifier,
                "Bag-Group-Identifier": "glass-plates-2024",
                "Bagging-Date": "2024-03-14",
            },
        )
        return write_tar(
            dest / f"{identifier}.tar.gz", folder_entries(folder, identifier), compress=True
        )


def nested_eicar_package(dest: Path) -> Path:
    """``deposit-eicar.tar.gz`` > ``attachments.zip`` > ``eicar.com``, beside clean files;
    the METS lists the zip and the readme with correct MD5s, so only the scan can fail."""
    rng = random.Random("eicar")
    attachments = zip_bytes(
        [
            ("scans/page-001.jpg", media.jpeg_bytes(rng, 400, 300)),
            ("notes.txt", media.text_bytes(media.prose_lines(rng, 12))),
            ("eicar.com", eicar_test_file()),
        ]
    )
    readme = media.text_bytes(["Attachments of the field notebook, as received.", ""])
    files = [
        MetsFile("attachments.zip", attachments, "application/zip", "ORIGINAL"),
        MetsFile("readme.txt", readme, "text/plain", "ORIGINAL"),
    ]
    header = MetsHeader(
        mets_id="DSpace_ITEM_123456789-6660",
        objid="hdl:123456789/6660",
        mets_type="DSpace ITEM",
        profile=DSPACE_AIP_PROFILE,
        created=_EXPORTED[1],
        custodian="hdl:123456789/0",
        creator=DSPACE_VERSION,
    )
    description = invented_description(rng, "http://hdl.handle.net/123456789/6660", "Notebook")
    mets = dspace_item_mets(header, description, files, parent_handle="123456789/1")
    top = "deposit-eicar"
    entries = [TarEntry(top), TarEntry(f"{top}/mets.xml", mets)]
    entries += [TarEntry(f"{top}/{file.href}", file.data) for file in files]
    return write_tar(dest / f"{top}.tar.gz", entries, compress=True)


def zip_slip_package(dest: Path) -> Path:
    """``zip-slip.zip``: a plausible deposit plus a member named ``../../evil.txt``."""
    rng = random.Random("zip-slip")
    members = [
        ("deposit/readme.txt", media.text_bytes(media.prose_lines(rng, 5))),
        ("deposit/page-001.jpg", media.jpeg_bytes(rng, 400, 300)),
        ("../../evil.txt", b"written outside the unpack folder\n"),
    ]
    return write_zip(dest / "zip-slip.zip", members)


# The bomb: 25 zips of 4 members of 10 MiB of zeros each, inside one zip (1000 MiB). Only
# 40 MiB is ever deflated, which keeps the build well under a second.
BOMB_MEMBER_BYTES = 10 * 1024 * 1024
BOMB_INNER_MEMBERS = 4
BOMB_PARTS = 25


def zip_bomb_package(dest: Path) -> Path:
    """``zip-bomb.zip``: under 10 KB on disk, 1000 MiB once both levels are unpacked."""
    zeros = bytes(BOMB_MEMBER_BYTES)
    inner = _deflated_zip((f"zeros-{n:02d}.bin", zeros) for n in range(BOMB_INNER_MEMBERS))
    outer = _deflated_zip((f"layer/part-{n:02d}.zip", inner) for n in range(BOMB_PARTS))
    path = dest / "zip-bomb.zip"
    path.write_bytes(outer)
    return path


def _deflated_zip(members: Iterable[tuple[str, bytes]]) -> bytes:
    """Every member deflated at level 9, even zips (a deflated zip of zeros deflates again)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(zip_member(name), data, compresslevel=9)
    return buffer.getvalue()


def symlink_out_package(dest: Path) -> Path:
    """``symlink-out.tar``: a deposit folder whose ``passwd`` member links to /etc/passwd."""
    entries = [
        TarEntry("deposit"),
        TarEntry("deposit/readme.txt", b"Scans of the accession register.\n"),
        TarEntry("deposit/passwd", link_target="/etc/passwd"),
    ]
    return write_tar(dest / "symlink-out.tar", entries, compress=False)


def bench_packages(
    dest: Path, count: int = 200, files_per_package: int = 20, seed: int = 7
) -> list[Path]:
    """``count`` packages, in turn a DSpace item zip, a bag in a tar.gz and a digitised
    volume zip (TIFFs with a METS), each with ``files_per_package`` payload files of mixed
    formats (all seven from 10 files up; at least 7 files) and its own identifier; package
    ``i`` depends only on ``seed`` and ``i``."""
    return [build_bulk_package(dest, index, files_per_package, seed) for index in range(count)]
