"""Near-duplicate quality: pair precision, recall and F1 per transform and per method.

    python bench/ml_quality.py [--json] [--encoder auto|offline|tiny] [--thresholds FILE] [--sweep]

The images are real photographs that ship inside PyPI packages (scikit-image's sample images,
scikit-learn's china and flower) plus any image under ../shared/corpus. Each *base* image is
one duplicate group: the base and its transformed copies (resize, thumbnail, JPEG quality 25,
crops of 5% and 10%, a border, grayscale, a 5 degree rotation, a mirror flip, overlaid text, and
resize + JPEG + crop together). The bigger photographs are also cut into four quadrants, each
quadrant a base of its own with its own copies: these are hard distractors, different regions
of the same picture. Ground truth, kept honest:

- same base -> duplicate pair;
- a whole photograph and one of its own quadrants -> *ambiguous* (a detail of a picture is
  neither clearly a duplicate nor clearly distinct): left out of every count;
- anything else (including two quadrants of one photograph, which do not overlap) -> distinct.

Methods: hash only, embedding only, combined (hash or embedding evidence), with the thresholds
of config/near_duplicates.toml for the encoder in use (``auto``: CLIP when its weights are
available, else the offline trained encoder). Rows:

- ``detector``: every pair the detector returns, against every labelled pair;
- ``grouped``: pairs implied by the canonical-id groups (transitive closure of the detector);
- one row per transform: base <-> transformed copy pairs (recall), and the precision of every
  detected pair that involves a copy made with that transform.

``--sweep`` also searches the thresholds on these images and prints, per method, the setting
with the highest grouped recall whose grouped precision is at least 0.99 (in-sample: it is how
config/near_duplicates.toml was set, so the figures it gives are optimistic).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from heritage.ml.encoders import load_encoder
from heritage.ml.image_hashes import mirrored_dhashes, perceptual_hashes
from heritage.ml.near_duplicates import (
    DuplicatePair,
    DuplicateThresholds,
    assign_canonical_ids,
    find_candidate_pairs,
    load_thresholds,
)
from heritage.ml_settings import load_encoder_config
from heritage.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".bmp"}
# scikit-image's bundled sample photographs (no download); motorcycle's right view, the
# microaneurysms crop and the synthetic images are left out: they duplicate or are not photos.
SKIMAGE_PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "retina",
    "immunohistochemistry", "coins", "moon", "page", "text", "cell", "grass", "gravel", "brick",
    "clock",
)  # fmt: skip
# Photographs big enough to cut into quadrants of at least 200 px (textures excluded: two
# patches of grass are not a fair test of anything).
TILED = {
    "astronaut", "coffee", "rocket", "camera", "hubble_deep_field", "retina",
    "immunohistochemistry", "moon", "cell", "china", "flower", "motorcycle",
}  # fmt: skip
PRECISION_TARGET = 0.99


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _thumbnail(image: Image.Image, longest: int = 200) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return copy


def _crop(image: Image.Image, keep: float, rng: random.Random, centred: bool) -> Image.Image:
    width, height = round(image.width * keep), round(image.height * keep)
    if centred:
        left, top = (image.width - width) // 2, (image.height - height) // 2
    else:
        left = rng.choice((0, image.width - width))
        top = rng.choice((0, image.height - height))
    return image.crop((left, top, left + width, top + height))


def _border(image: Image.Image, rng: random.Random) -> Image.Image:
    width = max(4, round(0.06 * max(image.size)))
    colour = rng.choice(((255, 255, 255), (0, 0, 0), (128, 96, 64)))
    return ImageOps.expand(image.convert("RGB"), border=width, fill=colour)


def _rotate(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-5.0, 5.0))
    return image.convert("RGB").rotate(
        angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)
    )


def _overlay_text(image: Image.Image, rng: random.Random) -> Image.Image:
    copy = image.convert("RGB")
    draw = ImageDraw.Draw(copy)
    size = max(12, copy.height // 9)
    font = ImageFont.load_default(size=size)
    text = rng.choice(("© Museum archive", "SAMPLE  2024", "Rijksmuseum · do not copy"))
    y = rng.choice((copy.height // 12, copy.height - 2 * size))
    draw.text((copy.width // 20, y), text, fill=(255, 255, 255), font=font, stroke_width=2,
              stroke_fill=(0, 0, 0))  # fmt: skip
    return copy


def _combo(image: Image.Image, rng: random.Random) -> Image.Image:
    return _jpeg(_crop(_resize(image, 0.7), 0.95, rng, centred=True), 50)


Transform = Callable[[Image.Image, random.Random], Image.Image]
TRANSFORMS: dict[str, Transform] = {
    "resize_50": lambda image, rng: _resize(image, 0.5),
    "thumbnail_200": lambda image, rng: _thumbnail(image),
    "jpeg_q25": lambda image, rng: _jpeg(image, 25),
    "crop_5": lambda image, rng: _crop(image, 0.95, rng, centred=True),
    "crop_10": lambda image, rng: _crop(image, 0.90, rng, centred=False),
    "border": _border,
    "grayscale": lambda image, rng: ImageOps.grayscale(image).convert("RGB"),
    "rotate_5": _rotate,
    "flip": lambda image, rng: ImageOps.mirror(image),
    "text_overlay": _overlay_text,
    "resize_jpeg_crop": _combo,
}


@dataclass(frozen=True)
class BenchImage:
    name: str
    group: str  # the base it comes from: same group = duplicates
    family: str  # the photograph the base was cut from
    whole: bool  # the base is the whole photograph (not a quadrant)
    transform: str  # 'original' or a TRANSFORMS key
    image: Image.Image


def source_photos() -> list[tuple[str, Image.Image]]:
    """(name, RGB image) of every real photograph the benchmark uses."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [
        (name, Image.fromarray(getattr(skimage.data, name)()).convert("RGB"))
        for name in SKIMAGE_PHOTOS
    ]
    left, _, _ = skimage.data.stereo_motorcycle()
    photos.append(("motorcycle", Image.fromarray(left).convert("RGB")))
    samples = load_sample_images()
    for path, array in zip(samples.filenames, samples.images, strict=True):
        photos.append((Path(path).stem, Image.fromarray(array).convert("RGB")))
    if CORPUS.is_dir():
        for path in sorted(CORPUS.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                try:
                    with Image.open(path) as opened:
                        photos.append((f"corpus:{path.relative_to(CORPUS)}", opened.convert("RGB")))
                except OSError as error:
                    print(f"ml_quality: skipping {path}: {error}", file=sys.stderr)
    return photos


def _quadrants(image: Image.Image) -> list[Image.Image]:
    half_w, half_h = image.width // 2, image.height // 2
    return [image.crop((x, y, x + half_w, y + half_h)) for y in (0, half_h) for x in (0, half_w)]


def build_dataset(seed: int = 0) -> list[BenchImage]:
    """Bases (whole photographs and quadrants) with their transformed copies."""
    rng = random.Random(seed)
    bases: list[tuple[str, str, bool, Image.Image]] = []
    for name, photo in source_photos():
        bases.append((name, name, True, photo))
        if name in TILED or (name.startswith("corpus:") and min(photo.size) >= 400):
            for index, quadrant in enumerate(_quadrants(photo)):
                bases.append((f"{name}#q{index}", name, False, quadrant))
    images = []
    for group, family, whole, base in bases:
        images.append(BenchImage(f"{group}/original", group, family, whole, "original", base))
        for transform, apply in TRANSFORMS.items():
            copy = apply(base, rng)
            images.append(BenchImage(f"{group}/{transform}", group, family, whole, transform, copy))
    return images


@dataclass
class Labels:
    """Pair labels over the upper triangle: duplicate, distinct, or ambiguous (not counted)."""

    duplicate: np.ndarray  # bool (n, n)
    counted: np.ndarray  # bool (n, n): labelled and i < j

    @classmethod
    def of(cls, images: list[BenchImage]) -> Labels:
        group = np.array([image.group for image in images])
        family = np.array([image.family for image in images])
        whole = np.array([image.whole for image in images])
        same_group = group[:, None] == group[None, :]
        ambiguous = (
            (family[:, None] == family[None, :]) & ~same_group & (whole[:, None] | whole[None, :])
        )
        upper = np.triu(np.ones_like(same_group), k=1)
        return cls(duplicate=same_group & upper, counted=upper & ~ambiguous)


def _scores(found: np.ndarray, labels: Labels, mask: np.ndarray | None = None) -> dict[str, Any]:
    counted = labels.counted if mask is None else labels.counted & mask
    truth = labels.duplicate & counted
    hits = found & counted
    true_positive = int((hits & truth).sum())
    detected, relevant = int(hits.sum()), int(truth.sum())
    precision = true_positive / detected if detected else 1.0
    recall = true_positive / relevant if relevant else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_positives": true_positive,
        "detected": detected,
        "duplicates": relevant,
    }


def _pair_matrix(pairs: list[DuplicatePair], index: dict[str, int], n: int) -> np.ndarray:
    found = np.zeros((n, n), dtype=bool)
    for pair in pairs:
        i, j = sorted((index[pair.record_id], index[pair.other_record_id]))
        found[i, j] = True
    return found


def _grouped_matrix(canonical: dict[str, str], names: list[str]) -> np.ndarray:
    ids = np.array([canonical[name] for name in names])
    return np.triu(ids[:, None] == ids[None, :], k=1)


def evaluate(
    images: list[BenchImage],
    phashes: np.ndarray,
    dhashes: np.ndarray,
    vectors: np.ndarray,
    thresholds: DuplicateThresholds,
    hash_thresholds: DuplicateThresholds,
) -> dict[str, Any]:
    """Scores per method: detector pairs, grouped pairs, and per transform.

    The hash-only method has no vectors to confirm its matches, so it uses the thresholds
    without the encoder's overrides (``hash_thresholds``).
    """
    labels = Labels.of(images)
    names = [image.name for image in images]
    index = {name: position for position, name in enumerate(names)}
    transform = np.array([image.transform for image in images])
    results: dict[str, Any] = {}
    for method in ("hash", "embedding", "combined"):
        pairs = find_candidate_pairs(
            names, phashes, dhashes, None if method == "hash" else vectors,
            hash_thresholds if method == "hash" else thresholds, method=method,
        )  # fmt: skip
        found = _pair_matrix(pairs, index, len(names))
        grouped = _grouped_matrix(assign_canonical_ids(names, pairs, []), names)
        per_transform = {}
        for name in TRANSFORMS:
            involves = (transform[:, None] == name) | (transform[None, :] == name)
            base_copy = ((transform[:, None] == "original") & (transform[None, :] == name)) | (
                (transform[:, None] == name) & (transform[None, :] == "original")
            )
            recall = _scores(found, labels, base_copy)["recall"]
            precision = _scores(found, labels, involves)["precision"]
            per_transform[name] = {"recall": recall, "precision": precision}
        results[method] = {
            "detector": _scores(found, labels),
            "grouped": _scores(grouped, labels),
            "transforms": per_transform,
        }
    return results


def sweep(
    images: list[BenchImage], phashes: np.ndarray, dhashes: np.ndarray, vectors: np.ndarray
) -> dict[str, Any]:
    """Thresholds with the highest *grouped* recall at grouped precision >= PRECISION_TARGET.

    Grouped pairs (connected components of the detector's pairs) are what users see, and one
    false edge between two groups of 12 costs 144 false pairs, so the search scores those.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels = Labels.of(images)
    n = len(images)
    upper = np.triu_indices(n, k=1)
    counted = labels.counted[upper]
    truth = labels.duplicate[upper] & counted
    relevant = int(truth.sum())
    cosine = (vectors @ vectors.T)[upper]
    p_dist = np.bitwise_count(phashes[:, None] ^ phashes[None, :])[upper]
    mirrored = mirrored_dhashes(dhashes)
    d_dist = np.minimum(
        np.bitwise_count(dhashes[:, None] ^ dhashes[None, :]),
        np.bitwise_count(mirrored[:, None] ^ dhashes[None, :]),
    )[upper]

    def grouped(accepted: np.ndarray) -> tuple[float, float]:
        edges = coo_matrix(
            (np.ones(int(accepted.sum())), (upper[0][accepted], upper[1][accepted])),
            shape=(n, n),
        )
        _, component = connected_components(edges, directed=False)
        together = (component[:, None] == component[None, :])[upper] & counted
        hits = int((together & truth).sum())
        detected = int(together.sum())
        return (hits / detected if detected else 1.0), hits / relevant

    def better(candidate: dict[str, Any], best: dict[str, Any] | None) -> bool:
        return candidate["precision"] >= PRECISION_TARGET and (
            best is None or candidate["recall"] > best["recall"]
        )

    found: dict[str, dict[str, Any] | None] = {"hash": None, "embedding": None, "combined": None}
    for cosine_min in np.round(np.arange(0.80, 0.99, 0.01), 2):
        precision, recall = grouped(cosine >= cosine_min)
        candidate = {"cosine_min": float(cosine_min), "precision": precision, "recall": recall}
        if better(candidate, found["embedding"]):
            found["embedding"] = candidate
    for p_max in (8, 12, 16, 20, 24):
        for d_max in (8, 12, 16):
            hash_ok = (p_dist <= p_max) & (d_dist <= d_max)
            precision, recall = grouped(hash_ok)
            candidate = {"hash_max_distance": p_max, "dhash_max_distance": d_max,
                         "precision": precision, "recall": recall}  # fmt: skip
            if better(candidate, found["hash"]):
                found["hash"] = candidate
            for confirm in np.round(np.arange(0.5, 0.85, 0.05), 2):
                confirmed = hash_ok & (cosine >= confirm)
                for cosine_min in np.round(np.arange(0.86, 0.98, 0.01), 2):
                    precision, recall = grouped(confirmed | (cosine >= cosine_min))
                    candidate = {
                        "hash_max_distance": p_max, "dhash_max_distance": d_max,
                        "hash_confirm_cosine": float(confirm), "cosine_min": float(cosine_min),
                        "precision": precision, "recall": recall,
                    }  # fmt: skip
                    if better(candidate, found["combined"]):
                        found["combined"] = candidate
    return {
        method: {key: round(value, 4) if isinstance(value, float) else value
                 for key, value in best.items()}
        for method, best in found.items()
        if best is not None
    }  # fmt: skip


def _table(results: dict[str, Any]) -> str:
    lines = [f"{'method':<10} {'row':<17} {'precision':>9} {'recall':>7} {'f1':>6}"]
    for method, result in results.items():
        for row in ("detector", "grouped"):
            scores = result[row]
            lines.append(
                f"{method:<10} {row:<17} {scores['precision']:>9.4f} {scores['recall']:>7.4f} "
                f"{scores['f1']:>6.4f}"
            )
        for name, scores in result["transforms"].items():
            lines.append(
                f"{method:<10} {name:<17} {scores['precision']:>9.4f} {scores['recall']:>7.4f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--encoder",
        choices=("auto", "offline", "tiny"),
        default="auto",
        help="auto: CLIP when its weights are available, else the offline trained encoder",
    )
    parser.add_argument("--thresholds", type=Path, help="thresholds TOML (default: the project's)")
    parser.add_argument("--sweep", action="store_true", help="also search the best thresholds")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random transforms")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    images = build_dataset(args.seed)
    built = time.perf_counter()
    config = load_encoder_config(load_settings())
    if args.encoder != "auto":
        config = replace(config, encoder=args.encoder)
    encoder = load_encoder(config)
    hashes = [perceptual_hashes(image.image) for image in images]
    phashes = np.array([value.phash for value in hashes], dtype=np.uint64)
    dhashes = np.array([value.dhash for value in hashes], dtype=np.uint64)
    hashed = time.perf_counter()
    vectors = np.concatenate(
        [
            encoder.encode_images([image.image for image in images[start : start + 32]])
            for start in range(0, len(images), 32)
        ]
    )
    embedded = time.perf_counter()
    thresholds = load_thresholds(args.thresholds, encoder.name)
    hash_thresholds = load_thresholds(args.thresholds)
    report: dict[str, Any] = {
        "encoder": encoder.name,
        "thresholds": asdict(thresholds),
        "hash_only_thresholds": asdict(hash_thresholds),
        "images": len(images),
        "groups": len({image.group for image in images}),
        "labelled_pairs": int(Labels.of(images).counted.sum()),
        "duplicate_pairs": int((Labels.of(images).duplicate & Labels.of(images).counted).sum()),
        "results": evaluate(images, phashes, dhashes, vectors, thresholds, hash_thresholds),
        "seconds": {
            "build": round(built - started, 1),
            "hash": round(hashed - built, 1),
            "embed": round(embedded - hashed, 1),
        },
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
    }
    if args.sweep:
        report["sweep"] = sweep(images, phashes, dhashes, vectors)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"encoder {report['encoder']}; {report['images']} images in {report['groups']} groups; "
        f"{report['duplicate_pairs']} duplicate pairs of {report['labelled_pairs']} labelled"
    )
    print(f"thresholds {report['thresholds']}; hash only {report['hash_only_thresholds']}")
    print(_table(report["results"]))
    if args.sweep:
        print(f"sweep (grouped precision >= {PRECISION_TARGET}): {json.dumps(report['sweep'])}")
    print(f"seconds {report['seconds']}; {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
