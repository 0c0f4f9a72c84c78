"""Near-duplicate images among local files (``heritage ml find-duplicates PATH...``).

The same hashes, encoder and detector as the embedding job, without any service.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from heritage.ml.image_hashes import perceptual_hashes
from heritage.ml.near_duplicates import (
    DuplicatePair,
    DuplicateThresholds,
    assign_canonical_ids,
    duplicate_groups,
    find_candidate_pairs,
    load_thresholds,
)

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".ppm"}
)
DEFAULT_MAX_PIXELS = 64_000_000


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class DuplicateReport:
    """What find-duplicates found: the groups with their pairs, and the files it skipped."""

    method: str
    encoder: str | None
    thresholds: DuplicateThresholds
    images: int
    pairs: list[DuplicatePair] = field(default_factory=list)
    canonical_ids: dict[str, str] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)

    def groups(self) -> dict[str, list[str]]:
        return duplicate_groups(self.canonical_ids)

    def as_json(self) -> dict[str, Any]:
        groups = self.groups()
        pairs_by_group: dict[str, list[dict[str, Any]]] = {canonical: [] for canonical in groups}
        for pair in self.pairs:
            canonical = self.canonical_ids[pair.record_id]
            if canonical == self.canonical_ids[pair.other_record_id]:
                pairs_by_group[canonical].append(asdict(pair))
        return {
            "method": self.method,
            "encoder": self.encoder,
            "thresholds": asdict(self.thresholds),
            "images": self.images,
            "groups": [
                {"canonical_id": canonical, "members": members, "pairs": pairs_by_group[canonical]}
                for canonical, members in groups.items()
            ],
            "skipped": [asdict(skipped) for skipped in self.skipped],
        }

    def as_text(self) -> str:
        groups = self.groups()
        lines = [
            f"{self.images} images, {len(groups)} duplicate groups, {len(self.skipped)} skipped "
            f"(method {self.method}, encoder {self.encoder or 'none'})"
        ]
        best: dict[str, DuplicatePair] = {}
        for pair in self.pairs:
            for member in (pair.record_id, pair.other_record_id):
                if member not in best or pair.score > best[member].score:
                    best[member] = pair
        for number, (canonical, members) in enumerate(groups.items(), start=1):
            lines.append(f"group {number}: {canonical}")
            for member in members[1:]:
                evidence = best.get(member)
                lines.append(f"  {member}" + (f"  ({_describe(evidence)})" if evidence else ""))
        for skipped in self.skipped:
            lines.append(f"skipped {skipped.path}: {skipped.reason}")
        return "\n".join(lines)


def _describe(pair: DuplicatePair) -> str:
    parts = [pair.method, f"score {pair.score:.3f}"]
    if pair.hash_distance is not None:
        parts.append(f"pHash distance {pair.hash_distance}")
    if pair.cosine is not None:
        parts.append(f"cosine {pair.cosine:.3f}")
    return ", ".join(parts)


def image_files(paths: Iterable[Path], recursive: bool) -> list[Path]:
    """Files named directly, plus image files (by suffix) in the folders named; sorted, unique."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            candidates = path.rglob("*") if recursive else path.iterdir()
            found.update(
                item
                for item in candidates
                if item.is_file() and item.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(
                f"{path}: no such file or folder (find-duplicates input); check the path"
            )
    return sorted(found)


def decode_image_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode a file fully; ValueError with the reason when it is not a safe, whole image."""
    try:
        with Image.open(path) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise ValueError(
                    f"{width}x{height} pixels is over the limit of {max_pixels} "
                    "(decompression-bomb guard; raise HERITAGE_IMAGE_MAX_PIXELS to accept it)"
                )
            probe.verify()
        image = Image.open(path)
        image.load()
    except ValueError:
        raise
    except Exception as error:  # Pillow raises many types for bad data
        raise ValueError(f"not a decodable image: {type(error).__name__}: {error}") from None
    return image


def _batches(items: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_duplicates_in_files(
    files: Sequence[Path],
    method: str = "combined",
    thresholds_path: Path | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> DuplicateReport:
    """Decode, hash and (unless method is 'hash') embed every file, then group duplicates."""
    from tqdm import tqdm

    encoder = None
    batch_size = 64
    if method != "hash":
        from heritage.ml.encoders import load_encoder
        from heritage.ml_settings import load_encoder_config
        from heritage.settings import load_settings

        config = load_encoder_config(load_settings())
        encoder = load_encoder(config)
        batch_size = config.batch_size
    thresholds = load_thresholds(thresholds_path, encoder.name if encoder else None)
    names: list[str] = []
    phashes: list[int] = []
    dhashes: list[int] = []
    vectors: list[np.ndarray] = []
    skipped: list[SkippedFile] = []
    with tqdm(
        total=len(files), desc="images", unit="img", file=sys.stderr, disable=not progress
    ) as bar:
        for batch in _batches(files, batch_size):
            decoded = []
            for path in batch:
                try:
                    image = decode_image_file(path, max_pixels)
                except ValueError as error:
                    skipped.append(SkippedFile(str(path), str(error)))
                    log.warning("image skipped", extra={"path": str(path), "reason": str(error)})
                    continue
                hashes = perceptual_hashes(image)
                names.append(str(path))
                phashes.append(hashes.phash)
                dhashes.append(hashes.dhash)
                decoded.append(image)
            if encoder is not None and decoded:
                vectors.append(encoder.encode_images(decoded))
            bar.update(len(batch))
    image_vectors = np.concatenate(vectors) if vectors else None
    if encoder is not None and image_vectors is None:
        image_vectors = np.zeros((0, encoder.image_dim), dtype=np.float32)
    pairs = find_candidate_pairs(
        names,
        np.array(phashes, dtype=np.uint64),
        np.array(dhashes, dtype=np.uint64),
        image_vectors,
        thresholds,
        method=method,
    )
    return DuplicateReport(
        method=method,
        encoder=encoder.name if encoder else None,
        thresholds=thresholds,
        images=len(names),
        pairs=pairs,
        canonical_ids=assign_canonical_ids(names, pairs, []),
        skipped=skipped,
    )
