"""``heritage ml run|fetch-images|embed|duplicates|similar``: the ML stage on a deployment."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def _context(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from heritage.cli import _layout
    from heritage.pipeline import lakehouse_session, prepare
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
    prepare(settings, layout)
    return settings, layout, lakehouse_session(settings)


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
    from heritage.cli import _layout
    from heritage.ml.vector_index import VectorIndex, open_vector_index
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
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


def add_pipeline_commands(actions: Any) -> None:
    """Add the ML stage's commands to the ``heritage ml`` group."""
    namespace_help = (
        "work on an isolated deployment (tables under ns/NAME, database heritage_NAME, "
        "Qdrant collection heritage_objects_NAME) instead of the product's"
    )

    def command(name: str, help_text: str, description: str, handler: Any) -> Any:
        parser = actions.add_parser(name, help=help_text, description=description)
        parser.add_argument("--namespace", help=namespace_help)
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.set_defaults(handler=handler)
        return parser

    command(
        "run",
        "fetch images, embed, find duplicates (the pipeline's ml stage)",
        "Run the ml stage once over whatever is new: fetch images of cleansed records, embed "
        "those without a current embedding, then recompute duplicate groups, canonical ids "
        "and similar objects. `heritage lakehouse run` runs it between cleanse and curate.",
        _run,
    )
    fetch = command(
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
    command(
        "embed",
        "embed stored images that have no current embedding",
        "Perceptual hashes, image, text and combined vectors for every record whose "
        "(content, image, model) has no embedding yet; upserted into Qdrant and committed to "
        "the ml/embeddings Delta table per batch (HERITAGE_ML_COMMIT_EVERY records). Safe to "
        "kill and rerun: a restart embeds only what was not committed.",
        _embed,
    )
    command(
        "duplicates",
        "recompute duplicate pairs, canonical ids and similar objects",
        "Near-duplicate pairs from all current embeddings and the curators' decisions "
        "(heritage.duplicate_decisions), canonical ids (smallest record id of a group) into "
        "curated/canonical_ids, top-10 similar objects; only changed rows are written. "
        "Thresholds: HERITAGE_ML_THRESHOLDS or config/near_duplicates.toml.",
        _duplicates,
    )
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
    similar.add_argument("--namespace", help=namespace_help)
    similar.add_argument("--json", action="store_true", help="print JSON")
    similar.set_defaults(handler=_similar)
