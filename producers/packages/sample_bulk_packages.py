"""The packages of the ingest benchmark: many deposits of three kinds, a few MB each.

Package ``i`` of a seed is, by ``i % 3``: a DSpace item AIP zip, a BagIt 1.0 bag in a
tar.gz (with a nested zip of JPEGs), or a digitised volume zip (TIFF masters, JPEG
derivatives and ALTO pages with a Kitodo-style METS). Its files are of mixed formats
(TIFF, JPEG, PNG, PDF, TXT, XML, CSV; all seven in every package from 10 files up), drawn from
``random.Random(f"bench/{seed}/{i}")``, so each package depends only on the seed and its
index, and no two packages share a file or an identifier.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from heritage.producers.packages import sample_media as media
from heritage.producers.packages.sample_archives import (
    STORED_SUFFIXES,
    folder_entries,
    write_tar,
    write_zip,
    zip_bytes,
)
from heritage.producers.packages.sample_bags import make_bag_1_0
from heritage.producers.packages.sample_mets import (
    DSPACE_AIP_PROFILE,
    MetsFile,
    MetsHeader,
    digitised_volume_mets,
    dspace_item_mets,
    invented_description,
)

MIN_FILES_PER_PACKAGE = 7
# Noise does not deflate: deflating it only costs build time (digitisation vendors store
# their TIFFs too), and the bags' tar.gz is Huffman-coded only, for the same reason.
_BULK_STORED_SUFFIXES = (*STORED_SUFFIXES, ".tif")
_EXPORTED = "2024-03-14T09:26:53Z"
# Relative frequency of each format among the files of a package.
_FORMAT_WEIGHTS = {"tiff": 5, "jpeg": 4, "png": 3, "pdf": 3, "txt": 2, "xml": 2, "csv": 1}
_MIMETYPES = {
    "tiff": "image/tiff",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "xml": "text/xml",
    "csv": "text/csv",
}
# The order formats first appear in, per kind: every package holds all seven formats from
# 10 files up (what the kind adds itself comes last).
_LAST_TEXT = ("tiff", "jpeg", "png", "pdf", "xml", "csv", "txt")
_LAST_JPEG = ("csv", "txt", "xml", "pdf", "png", "tiff", "jpeg")
_SUPPLEMENTS = ("png", "txt", "csv", "jpeg", "tiff", "pdf", "xml")
_SUFFIXES = {
    "tiff": "tif",
    "jpeg": "jpg",
    "png": "png",
    "pdf": "pdf",
    "txt": "txt",
    "xml": "xml",
    "csv": "csv",
}


@dataclass(frozen=True)
class BulkFile:
    name: str
    data: bytes
    mimetype: str


def _file_bytes(rng: random.Random, file_format: str, label: str) -> bytes:
    if file_format == "tiff":
        width = rng.randint(320, 480)
        return media.tiff_bytes(rng, width, width * 3 // 4)
    if file_format == "jpeg":
        width = rng.randint(480, 800)
        return media.jpeg_bytes(rng, width, width * 3 // 4)
    if file_format == "png":
        width = rng.randint(256, 400)
        return media.png_bytes(rng, width, width * 3 // 4)
    if file_format == "pdf":
        return media.stroke_pdf_bytes(rng, rng.randint(1, 3), title=label, author="Digitisation")
    if file_format == "txt":
        return media.text_bytes([label, *media.prose_lines(rng, rng.randint(20, 60))])
    if file_format == "xml":
        return media.dublin_core_xml_bytes(rng, label, " ".join(media.prose_lines(rng, 1)))
    return media.csv_bytes(rng, label, rows=rng.randint(20, 80))


def mixed_files(
    rng: random.Random, count: int, label: str, first: tuple[str, ...] = tuple(_FORMAT_WEIGHTS)
) -> list[BulkFile]:
    """``count`` files named ``<label>-NNN.<ext>``: the ``first`` formats once each, in that
    order, then formats drawn by weight."""
    formats = list(first)[:count]
    formats += rng.choices(
        list(_FORMAT_WEIGHTS), list(_FORMAT_WEIGHTS.values()), k=count - len(formats)
    )
    files = []
    for number, file_format in enumerate(formats, start=1):
        name = f"{label}-{number:03d}.{_SUFFIXES[file_format]}"
        files.append(BulkFile(name, _file_bytes(rng, file_format, name), _MIMETYPES[file_format]))
    return files


def _dspace_item(dest: Path, index: int, files: int, seed: int, rng: random.Random) -> Path:
    prefix, suffix = f"20.500.{12000 + seed}", str(index + 1)
    handle = f"{prefix}/{suffix}"
    # The licence is the package's text file when the mix runs out before "txt".
    content = mixed_files(rng, files - 1, f"item-{suffix}", _LAST_TEXT)
    bundle = {"text/plain": "TEXT"}
    mets_files = [
        MetsFile(f.name, f.data, f.mimetype, bundle.get(f.mimetype, "ORIGINAL")) for f in content
    ]
    licence = media.text_bytes(["Deposited under the repository's non-exclusive licence.", handle])
    mets_files.append(MetsFile("license.txt", licence, "text/plain", "LICENSE"))
    header = MetsHeader(
        mets_id=f"DSpace_ITEM_{prefix}-{suffix}",
        objid=f"hdl:{handle}",
        mets_type="DSpace ITEM",
        profile=DSPACE_AIP_PROFILE,
        created=_EXPORTED,
        custodian=f"hdl:{prefix}/0",
        creator="DSpace 7.6.1",
    )
    description = invented_description(rng, f"http://hdl.handle.net/{handle}", "Dataset")
    mets = dspace_item_mets(header, description, mets_files, parent_handle=f"{prefix}/1")
    members = [("mets.xml", mets), *((f.href, f.data) for f in mets_files)]
    return write_zip(dest / f"ITEM@{prefix}-{suffix}.zip", members, _BULK_STORED_SUFFIXES)


def _bag(dest: Path, index: int, files: int, seed: int, rng: random.Random) -> Path:
    identifier = f"bench-{seed}-batch-{index:04d}"
    nested = [(f"shot-{n:02d}.jpg", media.jpeg_bytes(rng, 640, 480)) for n in range(1, 4)]
    with tempfile.TemporaryDirectory(prefix="bench-bag-") as scratch:
        folder = Path(scratch) / identifier
        (folder / "files").mkdir(parents=True)
        for file in mixed_files(rng, files - len(nested), identifier, _LAST_JPEG):
            (folder / "files" / file.name).write_bytes(file.data)
        (folder / "derivatives.zip").write_bytes(zip_bytes(nested))
        info = {
            "Source-Organization": "Regional Archive, Digitisation Service",
            "External-Identifier": identifier,
            "External-Description": "Benchmark batch of mixed digitised material",
            "Bagging-Date": "2024-03-14",
        }
        make_bag_1_0(folder, info)
        entries = folder_entries(folder, identifier)
        return write_tar(dest / f"{identifier}.tar.gz", entries, compress=True, huffman_only=True)


def _volume_files(rng: random.Random, files: int, label: str) -> list[MetsFile]:
    """Per page a TIFF master, a JPEG and an ALTO page; then a PDF and supplements (a PNG,
    a TXT and a CSV first, so that all seven formats are in from 10 files up)."""
    pages = max(1, (files - 4) // 3)
    result: list[MetsFile] = []
    for page in range(1, pages + 1):
        width = rng.randint(320, 480)
        tiff = media.tiff_bytes(rng, width, width * 4 // 3)
        jpeg = media.jpeg_bytes(rng, width, width * 4 // 3)
        alto = media.alto_xml_bytes(media.prose_lines(rng, 24), f"P{page}")
        result.append(MetsFile(f"images/{page:08d}.tif", tiff, "image/tiff", "MASTER", page=page))
        result.append(MetsFile(f"jpg/{page:08d}.jpg", jpeg, "image/jpeg", "DEFAULT", page=page))
        result.append(MetsFile(f"alto/{page:08d}.xml", alto, "text/xml", "FULLTEXT", page=page))
    pdf = media.stroke_pdf_bytes(rng, min(pages, 4), title=label, author="Kitodo")
    result.append(MetsFile(f"{label}.pdf", pdf, "application/pdf", "DOWNLOAD"))
    supplements = mixed_files(rng, files - len(result), f"supplement/{label}", _SUPPLEMENTS)
    for extra in supplements:
        result.append(MetsFile(extra.name, extra.data, extra.mimetype, "SUPPLEMENT"))
    return result


def _digitised_volume(dest: Path, index: int, files: int, seed: int, rng: random.Random) -> Path:
    label = f"volume-{seed}-{index:04d}"
    objid = f"urn:nbn:de:bench-{seed}-{index:04d}"
    mets_files = _volume_files(rng, files, label)
    header = MetsHeader(
        mets_id=f"METS_{label}",
        objid=objid,
        mets_type="monograph",
        profile=None,
        created=_EXPORTED,
        custodian="State Library, Digitisation Centre",
        creator="Kitodo.Production 3.6",
    )
    description = invented_description(rng, f"https://nbn-resolving.org/{objid}", "book", "ger")
    mets = digitised_volume_mets(header, description, mets_files)
    members = [("mets.xml", mets), *((f.href, f.data) for f in mets_files)]
    return write_zip(dest / f"{label}.zip", members, _BULK_STORED_SUFFIXES)


_KINDS: tuple[Callable[[Path, int, int, int, random.Random], Path], ...] = (
    _dspace_item,
    _bag,
    _digitised_volume,
)


def build_bulk_package(dest: Path, index: int, files_per_package: int, seed: int) -> Path:
    """Package ``index`` of the benchmark set of ``seed``, written into ``dest``."""
    if files_per_package < MIN_FILES_PER_PACKAGE:
        raise ValueError(
            f"bench packages need at least {MIN_FILES_PER_PACKAGE} files each, "
            f"not {files_per_package}"
        )
    rng = random.Random(f"bench/{seed}/{index}")
    return _KINDS[index % len(_KINDS)](dest, index, files_per_package, seed, rng)
