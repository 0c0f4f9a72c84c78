"""Near-duplicate images among local files (``heritage ml find-duplicates PATH...``).

The same hashes, encoder and detector as the embedding job, without any service. Candidate
pairs whose verdict depends on it are verified geometrically (``heritage.ml.keypoint_match``):
the keypoints of the first ``KEYPOINTS_AHEAD`` images are found beside the encoder, from the
decoded image; a later image's the first time such a pair needs them, from the file again.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from PIL import Image

from heritage.ml.image_decode import decode_image_bytes
from heritage.ml.image_features import (
    ImageFeatures,
    fine_hash_matrix,
    image_features,
    page_matrix,
)
from heritage.ml.image_hashes import ORIENTATIONS
from heritage.ml.image_keypoints import Keypoints, image_keypoints
from heritage.ml.near_duplicates import (
    DuplicatePair,
    DuplicateThresholds,
    assign_canonical_ids,
    duplicate_groups,
    find_candidate_pairs,
    load_thresholds,
)

if TYPE_CHECKING:
    import torch

    from heritage.ml.encoders import Encoder

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".ppm"}
)
DEFAULT_MAX_PIXELS = 64_000_000
# The keypoints of the first this many files are found beside the encoder, from the decoded
# image, and kept (about 32 KB a file); a later file's when a pair first needs them.
KEYPOINTS_AHEAD = 10_000


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
    # Summed seconds per step: decoding, hashes and page signatures, the encoder, comparing,
    # and "keypoints" (beside the encoder, or within comparing for the images found later).
    seconds: dict[str, float] = field(default_factory=dict)

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
            "seconds": self.seconds,
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
    if pair.orientation:
        parts.append("turned or mirrored")
    if pair.cosine is not None:
        parts.append(f"cosine {pair.cosine:.3f}")
    if pair.page_similarity is not None:
        parts.append(f"page similarity {pair.page_similarity:.3f}")
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
    """The file's image upright, in sRGB, at the working size
    (:func:`heritage.ml.image_decode.decode_image_bytes`); ValueError with the reason when it
    is not a safe, whole image."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"unreadable: {error.strerror or error}") from None
    return decode_image_bytes(data, max_pixels)


class KeypointsOnDemand(Sequence[Keypoints | None]):
    """The keypoints of each file, computed (and kept) when first asked for; None for a
    file that no longer decodes."""

    def __init__(
        self,
        names: Sequence[str],
        max_pixels: int,
        known: dict[int, Keypoints | None] | None = None,
    ) -> None:
        self._names = list(names)
        self._max_pixels = max_pixels
        self._found: dict[int, Keypoints | None] = dict(known or {})
        self.seconds = 0.0

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> Keypoints | None: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Keypoints | None]: ...
    def __getitem__(self, index: int | slice) -> Keypoints | Sequence[Keypoints | None] | None:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        position = range(len(self))[index]
        if position not in self._found:
            started = time.perf_counter()
            try:
                image = decode_image_file(Path(self._names[position]), self._max_pixels)
                self._found[position] = image_keypoints(image)
            except ValueError:  # changed since it was read: judged without keypoints
                self._found[position] = None
            self.seconds += time.perf_counter() - started
        return self._found[position]


def _batches(items: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Loaded:
    """One batch decoded and described: the images, their features, what was skipped."""

    names: list[str] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    features: list[ImageFeatures] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    keypoints: list[Keypoints] = field(default_factory=list)  # when asked for: one an image
    decode_s: float = 0.0
    features_s: float = 0.0
    keypoints_s: float = 0.0
    prepared: torch.Tensor | None = None  # the encoder's input for ``images``, when embedding
    prepare_s: float = 0.0


def _load(
    batch: Sequence[Path], max_pixels: int, with_keypoints: bool, encoder: Encoder | None
) -> _Loaded:
    """Decode and describe ``batch``; ``with_keypoints``: find their keypoints too (from the
    decoded image, beside the encoder, instead of decoding the file again later). With an
    ``encoder``, its input tensor is prepared here too, so the encoder's thread only runs the
    model."""
    loaded = _Loaded()
    for path in batch:
        started = time.perf_counter()
        try:
            image = decode_image_file(path, max_pixels)
            decoded = time.perf_counter()
            features = image_features(image)
        except Exception as error:  # one bad file is skipped with its reason, not fatal
            reason = str(error) if isinstance(error, ValueError) else repr(error)
            loaded.skipped.append(SkippedFile(str(path), reason))
            log.warning("image skipped", extra={"path": str(path), "reason": reason})
            continue
        described = time.perf_counter()
        if with_keypoints:
            loaded.keypoints.append(image_keypoints(image))
            loaded.keypoints_s += time.perf_counter() - described
        loaded.features.append(features)
        loaded.features_s += described - decoded
        loaded.decode_s += decoded - started
        loaded.names.append(str(path))
        loaded.images.append(image)
    if encoder is not None and loaded.images:
        started = time.perf_counter()
        loaded.prepared = encoder.prepare_images(loaded.images)
        loaded.prepare_s = time.perf_counter() - started
    return loaded


def find_duplicates_in_files(
    files: Sequence[Path],
    method: str = "combined",
    thresholds_path: Path | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> DuplicateReport:
    """Decode, hash and (unless method is 'hash') embed every file, then group duplicates.

    The next batch is decoded and hashed in a second thread while the encoder runs.
    """
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
    seconds = {"decode": 0.0, "hash": 0.0, "embed": 0.0, "compare": 0.0, "keypoints": 0.0}
    everything = _Loaded()
    vectors: list[np.ndarray] = []
    batches = list(_batches(files, batch_size))
    with (
        tqdm(
            total=len(files), desc="images", unit="img", file=sys.stderr, disable=not progress
        ) as bar,
        ThreadPoolExecutor(1, thread_name_prefix="find-duplicates-loader") as pool,
    ):

        def load(index: int) -> Future[_Loaded]:
            ahead = index * batch_size < KEYPOINTS_AHEAD
            return pool.submit(_load, batches[index], max_pixels, ahead, encoder)

        upcoming = load(0) if batches else None
        for index in range(len(batches)):
            assert upcoming is not None
            loaded = upcoming.result()
            if index + 1 < len(batches):
                upcoming = load(index + 1)
            seconds["decode"] += loaded.decode_s
            seconds["hash"] += loaded.features_s
            seconds["keypoints"] += loaded.keypoints_s
            if encoder is not None and loaded.prepared is not None:
                started = time.perf_counter()
                vectors.append(encoder.encode_prepared(loaded.prepared))
                seconds["embed"] += loaded.prepare_s + time.perf_counter() - started
            everything.names += loaded.names
            everything.features += loaded.features
            everything.skipped += loaded.skipped
            everything.keypoints += loaded.keypoints
            bar.update(len(batches[index]))
    names, found = everything.names, everything.features
    image_vectors = np.concatenate(vectors) if vectors else None
    if encoder is not None and image_vectors is None:
        image_vectors = np.zeros((0, encoder.image_dim), dtype=np.float32)
    started = time.perf_counter()
    keypoints = KeypointsOnDemand(names, max_pixels, dict(enumerate(everything.keypoints)))
    pairs = find_candidate_pairs(
        names,
        np.array([f.hashes.phashes for f in found], dtype=np.uint64).reshape(-1, ORIENTATIONS),
        np.array([f.hashes.dhashes for f in found], dtype=np.uint64).reshape(-1, ORIENTATIONS),
        image_vectors,
        thresholds,
        method=method,
        page_signatures=page_matrix([f.page_signature for f in found]),
        fine_hashes=fine_hash_matrix(found),
        keypoints=keypoints,
    )
    seconds["compare"] = time.perf_counter() - started
    seconds["keypoints"] += keypoints.seconds
    skipped = everything.skipped
    return DuplicateReport(
        method=method,
        encoder=encoder.name if encoder else None,
        thresholds=thresholds,
        images=len(names),
        pairs=pairs,
        canonical_ids=assign_canonical_ids(names, pairs, [], thresholds),
        skipped=skipped,
        seconds={name: round(value, 3) for name, value in seconds.items()},
    )
