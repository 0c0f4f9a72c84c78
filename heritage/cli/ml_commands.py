"""``heritage ml run|fetch-images|embed|duplicates|similar|find-duplicates``.

The ml component (torch, the encoders, Qdrant) loads only inside the command that needs
it, so `heritage --help` and the other commands do not pay for it; the detector's method
names are a constant the parser needs up front.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heritage.cli.common_options import deployment_layout
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.near_duplicates import METHODS
from heritage.settings import Settings, load_settings
from heritage.source_settings import load_image_fetch_config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAMESPACE_HELP = (
    "work on an isolated deployment (tables under ns/NAME, database heritage_NAME, "
    "Qdrant collection heritage_objects_NAME) instead of the product's"
)


def _context(args: argparse.Namespace) -> tuple[Settings, LakehouseLayout, SparkSession]:
    from heritage import pipeline

    settings = load_settings()
    layout = deployment_layout(settings, args)
    pipeline.prepare(settings, layout)
    return settings, layout, pipeline.lakehouse_session(settings)


def _print(summary: Any, as_json: bool, text: str) -> None:
    print(json.dumps(asdict(summary), sort_keys=True) if as_json else text)


def _run(args: argparse.Namespace) -> int:
    from heritage.ml.ml_stage import run_ml_stage

    settings, layout, spark = _context(args)
    result = run_ml_stage(spark, settings, layout, progress=not args.json)
    _print(result, args.json, result.render())
    return 0


def _fetch_images(args: argparse.Namespace) -> int:
    from heritage.ml.image_fetch import run_image_fetch

    settings, layout, spark = _context(args)
    summary = run_image_fetch(
        spark, settings, layout, progress=not args.json, retry_failed_now=args.retry_failed
    )
    _print(
        summary,
        args.json,
        f"images: {summary.stored} stored, {summary.failed} failed of {summary.attempted} "
        f"attempted; {summary.removed} rows of deleted records removed",
    )
    return 0


def _embed(args: argparse.Namespace) -> int:
    from heritage.ml.embedding_job import run_embedding_job

    settings, layout, spark = _context(args)
    summary = run_embedding_job(spark, settings, layout, progress=not args.json)
    _print(
        summary,
        args.json,
        f"embeddings: {summary.encoded} encoded, {summary.committed} committed with "
        f"{summary.model or '-'}; {summary.removed} removed, {summary.skipped} skipped",
    )
    return 0


def _duplicates(args: argparse.Namespace) -> int:
    from heritage.ml.duplicate_stage import run_duplicate_stage

    settings, layout, spark = _context(args)
    summary = run_duplicate_stage(spark, settings, layout)
    _print(
        summary,
        args.json,
        f"duplicates: {summary.pairs} pairs in {summary.groups} groups over {summary.records} "
        f"records; changed rows: canonical ids {summary.canonical_changed}, pairs "
        f"{summary.pairs_changed}, similar objects {summary.similar_changed}",
    )
    return 0


def _similar(args: argparse.Namespace) -> int:
    from heritage.ml.vector_index import VectorIndex, open_vector_index

    settings = load_settings()
    layout = deployment_layout(settings, args)
    filters = {"provider": args.provider, "type": args.type, "rights": args.rights}
    with open_vector_index(settings) as client:
        try:
            found = VectorIndex(client, layout.qdrant_collection).similar(
                args.record_id, args.k, filters
            )
        except LookupError as error:
            print(f"heritage ml similar: {error}")
            return 1
    if args.json:
        print(json.dumps([asdict(s) for s in found], indent=2))
    else:
        for rank, item in enumerate(found, start=1):
            print(f"{rank:>3}  {item.score:.4f}  {item.record_id}")
        if not found:
            print("no similar records match")
    return 0


def _find_duplicates(args: argparse.Namespace) -> int:
    from heritage.ml.file_duplicates import find_duplicates_in_files, image_files

    try:
        files = image_files(args.paths, args.recursive)
        max_pixels = load_image_fetch_config(load_settings()).max_pixels
        report = find_duplicates_in_files(files, args.method, args.thresholds, max_pixels)
    except (FileNotFoundError, ValueError) as error:
        print(f"heritage ml find-duplicates: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        print(report.as_text())
    return 0


def _add_stage_command(
    actions: Any, name: str, help_text: str, description: str, handler: Any
) -> Any:
    parser = actions.add_parser(name, help=help_text, description=description)
    parser.add_argument("--namespace", help=NAMESPACE_HELP)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=handler)
    return parser


def _add_stage_commands(actions: Any) -> None:
    _add_stage_command(
        actions,
        "run",
        "fetch images, embed, find duplicates (the pipeline's ml stage)",
        "Run the ml stage once over whatever is new: fetch images of cleansed records, embed "
        "those without a current embedding, then recompute duplicate groups, canonical ids "
        "and similar objects. `heritage lakehouse run` runs it between cleanse and curate.",
        _run,
    )
    fetch = _add_stage_command(
        actions,
        "fetch-images",
        "fetch each cleansed record's image into the object store",
        "Fetch images of new or changed records and retry failed ones whose backoff passed "
        "(HERITAGE_IMAGE_RETRY_AFTER_S doubling per attempt). URLs resolving to private, "
        "loopback or link-local addresses are refused unless listed in "
        "HERITAGE_IMAGE_FETCH_ALLOW (host:port,...). Originals go to images/original/<sha256>, "
        "thumbnails to images/thumbnails/<sha256>.jpg; results to the ml/images Delta table.",
        _fetch_images,
    )
    fetch.add_argument(
        "--retry-failed", action="store_true", help="retry every failed image now (no backoff)"
    )
    _add_stage_command(
        actions,
        "embed",
        "embed stored images that have no current embedding",
        "Perceptual hashes, image, text and combined vectors for every record whose "
        "(content, image, model) has no embedding yet; upserted into Qdrant and committed to "
        "the ml/embeddings Delta table per batch (HERITAGE_ML_COMMIT_EVERY records). Safe to "
        "kill and rerun: a restart embeds only what was not committed.",
        _embed,
    )
    _add_stage_command(
        actions,
        "duplicates",
        "recompute duplicate pairs, canonical ids and similar objects",
        "Near-duplicate pairs from all current embeddings and the curators' decisions "
        "(heritage.duplicate_decisions), canonical ids (smallest record id of a group) into "
        "curated/canonical_ids, top-10 similar objects; only changed rows are written. "
        "Thresholds: HERITAGE_ML_THRESHOLDS or config/near_duplicates.toml.",
        _duplicates,
    )


def _add_similar(actions: Any) -> None:
    similar = actions.add_parser(
        "similar",
        help="records most similar to one record (Qdrant), outside its duplicate group",
        description="Query Qdrant with the record's combined vector, excluding records of its "
        "own duplicate group; filter by provider, type or rights. Exit 1 when the record has "
        "no embedding.",
    )
    similar.add_argument("record_id", metavar="RECORD_ID", help="e.g. europeana:/2021672/x_1")
    similar.add_argument("--k", type=int, default=10, help="how many (default 10)")
    similar.add_argument("--provider", help="only records of this data provider")
    similar.add_argument("--type", help="only records of this type (IMAGE, TEXT, ...)")
    similar.add_argument("--rights", metavar="URI", help="only records with this rights URI")
    similar.add_argument("--namespace", help=NAMESPACE_HELP)
    similar.add_argument("--json", action="store_true", help="print JSON")
    similar.set_defaults(handler=_similar)


def _add_find_duplicates(actions: Any) -> None:
    find = actions.add_parser(
        "find-duplicates",
        help="group near-duplicate images among local files",
        description="Decode every image file (skipping and reporting undecodable ones), "
        "compute perceptual hashes and image embeddings, and print groups of near-duplicates "
        "with the evidence of each pair. The canonical id of a group is its smallest path. "
        "Exit status 0 even when files were skipped; 2 when a path does not exist.",
    )
    find.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    find.add_argument(
        "--recursive", action="store_true", help="also look into subfolders of the folders named"
    )
    find.add_argument(
        "--method",
        choices=METHODS,
        default="combined",
        help="evidence: hash or embedding alone, or either (combined; default). 'hash' loads "
        "no model and is the fastest",
    )
    find.add_argument(
        "--thresholds",
        type=Path,
        metavar="FILE",
        help="thresholds TOML (default: config/near_duplicates.toml, tuned by bench/ml_quality.py)",
    )
    find.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    find.set_defaults(handler=_find_duplicates)


def add_commands(commands: Any) -> None:
    """Add the ``ml`` group to the top-level subparsers."""
    ml = commands.add_parser(
        "ml",
        help="images, embeddings and near-duplicates",
        description="Images, embeddings and near-duplicates: the embedding job and tools "
        "around it. The encoder comes from HERITAGE_CLIP_MODEL, HERITAGE_CLIP_PRETRAINED, "
        "HERITAGE_CLIP_WEIGHTS and HERITAGE_MODEL_CACHE; without CLIP weights it falls back to "
        "an offline trained encoder (EfficientNet-Lite0 + all-MiniLM-L6-v2) and says so.",
    )
    actions = ml.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_find_duplicates(actions)
    _add_stage_commands(actions)
    _add_similar(actions)
