"""``heritage ml find-duplicates`` end to end: images/s, and where the time goes.

    python bench/find_duplicates_throughput.py [--images 1000] [--method combined|hash]

The images are the near-duplicate evaluation set (``bench/duplicate_dataset.py``: real
photographs and typeset page scans, each with its copies, as JPEG, PNG, TIFF and WebP files),
a seeded sample of ``--images`` of them (photographs and pages in the set's proportions)
written to a temporary folder (not timed). Then the command
runs as a user runs it, in a fresh process (``--json``, no progress bar), and its wall time
gives images/s end to end: Python start, model load, decoding, hashes and page signatures,
the encoder, the comparison. The report's summed seconds per step give the split (decoding
and hashing run in a second thread beside the encoder, so the steps overlap). Goal: at least
20 images/s for 1,000 images on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from duplicate_dataset import build_dataset

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GOAL_IMAGES_PER_S = 20.0


def write_images(folder: Path, count: int) -> int:
    """A seeded sample of the evaluation set, photographs and pages in its proportions."""
    everything = build_dataset(0)
    images = random.Random(0).sample(everything, min(count, len(everything)))
    for index, item in enumerate(images):
        suffix = _suffix(item.data)
        (folder / f"{index:05d}{suffix}").write_bytes(item.data)
    return len(images)


def _suffix(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ".tif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[:3] == b"GIF":
        return ".gif"
    return ".bmp"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="how many images (default 1000)")
    parser.add_argument("--method", choices=("combined", "hash"), default="combined")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    heritage = PROJECT_ROOT / ".venv" / "bin" / "heritage"
    with tempfile.TemporaryDirectory(prefix="find-duplicates-bench-") as folder:
        count = write_images(Path(folder), args.images)
        started = time.perf_counter()
        result = subprocess.run(
            [str(heritage), "ml", "find-duplicates", folder, "--json", "--method", args.method],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return result.returncode
    report = json.loads(result.stdout)
    figures = {
        "images": count,
        "method": args.method,
        "encoder": report["encoder"],
        "wall_s": round(wall, 1),
        "images_per_s": round(count / wall, 1),
        "goal_images_per_s": GOAL_IMAGES_PER_S,
        "groups": len(report["groups"]),
        "step_seconds": report["seconds"],
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{count} images in {figures['wall_s']} s: {figures['images_per_s']} images/s end "
            f"to end (goal {GOAL_IMAGES_PER_S}); method {args.method}, encoder "
            f"{figures['encoder']}; {figures['groups']} groups"
        )
        print(f"summed step seconds: {json.dumps(report['seconds'])}; {figures['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
