"""`make demo` / `heritage demo`: the stack up, the sample through every hop, a summary."""

from __future__ import annotations

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_summary import count_tables
from heritage.pipeline import lakehouse_session, produce_sample, run_stages
from heritage.producers.sample_collection import generate_sample_collection
from heritage.services import stack


def run_demo(records: int, seed: int) -> int:
    """Returns 0 when every table holds exactly what the sample collection expects."""
    settings = stack.up()
    layout = LakehouseLayout.default(settings)
    manifest = generate_sample_collection(records, seed).manifest
    published = produce_sample(settings, layout, records, seed)
    print(
        f"producer: published {published.published} messages to {layout.records_topic} "
        f"({published.skipped} were confirmed by an earlier run)"
    )
    spark = lakehouse_session(settings)
    print(run_stages(settings, layout, spark=spark).render())
    counts = count_tables(spark, settings, layout)
    expected_valid = len(manifest.valid_record_ids)
    expected_dead = len(manifest.malformed)
    checks = [
        ("raw messages", counts.raw_rows, manifest.message_count),
        ("cleansed records", counts.cleansed_rows, expected_valid),
        ("curated records", counts.curated_rows, expected_valid),
        ("dead letters", counts.dead_letter_rows, expected_dead),
        ("analytics.objects rows", counts.postgres_objects, expected_valid),
    ]
    print("\nsummary (expected from the generated collection):")
    ok = True
    for name, actual, expected in checks:
        mark = "ok" if actual == expected else "MISMATCH"
        ok &= actual == expected
        print(f"  {name:<24} {actual:>8}   expected {expected:>8}   {mark}")
    versions = ", ".join(f"{name} v{version}" for name, version in counts.versions.items())
    print(f"  {'Delta versions':<24} {versions}")
    print(
        "\nwhere to look:\n"
        f"  Delta tables   {layout.raw_records}, {layout.cleansed_records}, {layout.dead_letters}\n"
        f"  MinIO console  http://127.0.0.1:{settings.minio_console_port} "
        f"(credentials in {settings.local_env_file})\n"
        f'  PostgreSQL     eval "$(heritage services env)"; psql -c \'SELECT * FROM '
        "analytics.objects LIMIT 5'\n"
        "  dashboard      heritage dashboard\n"
        "  logs           .state/*/ (kafka, minio, postgres)"
    )
    print("\ndemo: " + ("all counts match" if ok else "COUNTS DO NOT MATCH (see above)"))
    return 0 if ok else 1
