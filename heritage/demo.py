"""`make demo` / `heritage demo`: the stack up, the sample through every hop, a summary."""

from __future__ import annotations

import os

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_summary import count_tables
from heritage.ml.demo_image_server import DEFAULT_PORT, serve_demo_images
from heritage.pipeline import lakehouse_session, produce_sample, run_stages
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.services import stack
from heritage.settings import Settings


def run_demo(records: int, seed: int) -> int:
    """Returns 0 when every table holds exactly what the sample collection expects."""
    settings = stack.up()
    # The sample's images come from a local image server on an allow-listed loopback port.
    port = int(os.environ.get("HERITAGE_DEMO_IMAGE_PORT") or DEFAULT_PORT)
    allowed = os.environ.get("HERITAGE_IMAGE_FETCH_ALLOW", "")
    os.environ["HERITAGE_IMAGE_FETCH_ALLOW"] = ",".join(
        part for part in (allowed, f"127.0.0.1:{port}") if part
    )
    with serve_demo_images(port) as image_base:
        return _run_demo(settings, records, seed, image_base)


def _run_demo(settings: Settings, records: int, seed: int, image_base: str) -> int:
    from heritage.ml.demo_summary import canonical_ids, compare_with_manifest, image_counts

    layout = LakehouseLayout.default(settings)
    manifest = generate_sample_collection(records, seed, image_base_url=image_base).manifest
    published = produce_sample(settings, layout, records, seed, image_base_url=image_base)
    print(
        f"producer: published {published.published} messages to {layout.records_topic} "
        f"({published.skipped} were confirmed by an earlier run); images served from "
        f"{image_base}"
    )
    spark = lakehouse_session(settings)
    print(run_stages(settings, layout, spark=spark).render())
    counts = count_tables(spark, settings, layout)
    images = image_counts(spark, layout)
    duplicates = compare_with_manifest(
        canonical_ids(spark, layout),
        {**manifest.exact_duplicates, **manifest.near_duplicates},
        manifest.live_record_ids,
    )
    expected_valid = len(manifest.valid_record_ids)
    expected_dead = len(manifest.malformed)
    checks = [
        ("raw messages", counts.raw_rows, manifest.message_count),
        ("cleansed records", counts.cleansed_rows, expected_valid),
        ("curated records", counts.curated_rows, expected_valid),
        ("dead letters", counts.dead_letter_rows, expected_dead),
        ("analytics.objects rows", counts.postgres_objects, expected_valid),
        ("images stored", images["stored"], expected_valid),
        ("images failed", images["failed"], 0),
    ]
    print("\nsummary (expected from the generated collection):")
    ok = True
    for name, actual, expected in checks:
        mark = "ok" if actual == expected else "MISMATCH"
        ok &= actual == expected
        print(f"  {name:<24} {actual:>8}   expected {expected:>8}   {mark}")
    found, expected_groups = duplicates.groups_found, duplicates.groups_expected
    print(
        f"  {'duplicate groups':<24} {found:>8}   manifest {expected_groups:>8}"
        f"   ({duplicates.pairs_recovered} of {duplicates.pairs_expected} manifest pairs grouped, "
        f"{duplicates.wrongly_grouped} records grouped against the manifest)"
    )
    versions = ", ".join(f"{name} v{version}" for name, version in counts.versions.items())
    print(f"  {'Delta versions':<24} {versions}")
    print(
        "\nwhere to look:\n"
        f"  Delta tables   {layout.raw_records}, {layout.cleansed_records}, {layout.dead_letters}\n"
        f"  images         s3://{settings.bucket}/{layout.image_prefix}/thumbnails/; "
        "similar objects: heritage ml similar RECORD_ID\n"
        f"  MinIO console  http://127.0.0.1:{settings.minio_console_port} "
        f"(credentials in {settings.local_env_file})\n"
        f'  PostgreSQL     eval "$(heritage services env)"; psql -c \'SELECT * FROM '
        "analytics.objects LIMIT 5'\n"
        "  dashboard      heritage dashboard\n"
        "  logs           .state/*/ (kafka, minio, postgres)"
    )
    print("\ndemo: " + ("all counts match" if ok else "COUNTS DO NOT MATCH (see above)"))
    return 0 if ok else 1
