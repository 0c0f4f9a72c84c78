"""`make demo` / `heritage demo`: the stack up, the sample through every hop, a summary.

Besides the sample's records, the annotation simulator tags and comments on some of them, so
the explorer's "has annotations" facet and the tag queries have something to show.

The terminal gets one line per step (stack, producer, each stage as it finishes) and a short
summary; logs go to ``.state/logs/demo.log`` and Spark's own output to its log files there.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from huggingface_hub.utils import disable_progress_bars
from pyspark.sql import SparkSession

from heritage.delta_tables import table_version
from heritage.json_logging import JsonFormatter, is_terminal
from heritage.kafka_topics import topic_end_offsets
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_summary import TableCounts, count_tables
from heritage.ml.demo_image_server import DEFAULT_PORT, serve_demo_images
from heritage.ml.demo_summary import (
    DuplicateComparison,
    canonical_ids,
    compare_with_manifest,
    image_counts,
)
from heritage.pipeline import (
    StageRun,
    lakehouse_session,
    produce_sample,
    run_stages,
    stage_context,
)
from heritage.postgres_db import connect
from heritage.producers.packages.demo_packages import DemoPackages, ingest_demo_packages
from heritage.producers.simulators.annotation_simulator import simulate_annotations
from heritage.producers.simulators.sample_collection import (
    SampleManifest,
    generate_sample_collection,
)
from heritage.services import stack
from heritage.settings import Settings, load_settings
from heritage.spark_session import spark_log_file

# Port of the loopback server that serves the sample's images.
IMAGE_PORT_VARIABLE = "HERITAGE_DEMO_IMAGE_PORT"
# The image fetcher's allow-list (host:port,...); the demo adds its image server to it.
FETCH_ALLOW_VARIABLE = "HERITAGE_IMAGE_FETCH_ALLOW"
# Annotations the demo makes by default, and how fast (the simulator paces itself to a rate).
DEMO_ANNOTATIONS = 200
ANNOTATIONS_PER_SECOND = 5000.0


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    actual: int
    expected: int

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def run_demo(records: int, seed: int, annotations: int = DEMO_ANNOTATIONS) -> int:
    """Returns 0 when every table holds exactly what the sample collection (and its
    ``annotations``) expects."""
    logs = load_settings().state_dir / "logs"
    send_logs_to(logs / "demo.log")
    if not is_terminal(sys.stderr):
        # The model libraries draw their weight-loading bars even into a file or a pipe.
        disable_progress_bars()
    reporter = StackReporter()
    settings = stack.up(report=reporter.report)
    print(reporter.summary(), flush=True)
    port = int(settings.value(IMAGE_PORT_VARIABLE, str(DEFAULT_PORT)))
    settings = with_fetch_allowed(settings, f"127.0.0.1:{port}")
    try:
        with serve_demo_images(port) as image_base:
            ok = _run_sample(settings, DemoInput(records, seed, annotations), image_base)
    finally:  # where the details are, also when a step failed
        spark_log = spark_log_file(settings).name
        print(f"logs           {logs}/ (demo.log, {spark_log}, setup-<step>.log)")
    print("demo: " + ("all counts match" if ok else "COUNTS DO NOT MATCH (see above)"))
    return 0 if ok else 1


def send_logs_to(path: Path) -> None:
    """Every log record (and Python warning) of this run to a JSON-lines file, not the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    logging.getLogger().handlers[:] = [handler]
    logging.captureWarnings(True)


class StackReporter:
    """Folds the stack's per-service messages into one line; services that start are shown
    as they start, since that can take a while."""

    def __init__(self, show: Callable[[str], None] = print) -> None:
        self.show = show
        self.running: list[str] = []
        self.started: list[str] = []
        self.notes: list[str] = []

    def report(self, message: str) -> None:
        name, _, state = message.partition(": ")
        if state == "already running":
            self.running.append(name)
        elif state == "starting":
            self.show(f"stack: starting {name} ...")
        elif state == "ready":
            self.started.append(name)
        else:
            self.notes.append(state if name == "init" else message)

    def summary(self) -> str:
        parts = []
        if self.running:
            parts.append(f"{', '.join(self.running)} already running")
        if self.started:
            parts.append(f"{', '.join(self.started)} started")
        return "stack: " + "; ".join(parts + self.notes)


def with_fetch_allowed(settings: Settings, host_port: str) -> Settings:
    """The settings with ``host_port`` added to the image fetcher's allow-list."""
    allowed = ",".join(p for p in (settings.value(FETCH_ALLOW_VARIABLE), host_port) if p)
    environment = {**settings.environment, FETCH_ALLOW_VARIABLE: allowed}
    return dataclasses.replace(settings, environment=environment)


@dataclasses.dataclass(frozen=True)
class DemoInput:
    """What the demo publishes: the sample's size and seed, and how many annotations."""

    records: int
    seed: int
    annotations: int


@dataclasses.dataclass(frozen=True)
class AnnotationCounts:
    """analytics.annotations after the run: all, the tags, the records they attach to."""

    annotations: int
    tags: int
    annotated_records: int


def _run_sample(settings: Settings, demo: DemoInput, image_base: str) -> bool:
    layout = LakehouseLayout.default(settings)
    records, seed = demo.records, demo.seed
    manifest = generate_sample_collection(records, seed, image_base_url=image_base).manifest
    bars = is_terminal(sys.stderr)
    published = produce_sample(
        settings, layout, records, seed, progress=bars, image_base_url=image_base
    )
    print(
        f"producer: {published.published} messages to {layout.records_topic} "
        f"({published.skipped} already confirmed by an earlier run); images from {image_base}",
        flush=True,
    )
    print(publish_demo_annotations(settings, layout, demo, bars), flush=True)
    spark = lakehouse_session(settings)
    packages = ingest_demo_packages(stage_context(settings, layout, spark=spark))
    print("\n".join(package_lines(packages)), flush=True)
    report = run_stages(settings, layout, spark=spark, progress=bars, on_stage=print_stage)
    if all(run.result.nothing_new for run in report.runs):
        print("         nothing new: the tables already hold this sample")
    counts = count_tables(spark, settings, layout)
    duplicates = compare_with_manifest(
        canonical_ids(spark, layout),
        {**manifest.exact_duplicates, **manifest.near_duplicates},
        manifest.live_record_ids,
    )
    checks = demo_checks(counts, image_counts(spark, layout), manifest, packages)
    states = publication_states(spark, layout)
    # Every curated object has an embargo state: published, or why not.
    checks.append(Check("embargo states", sum(states.values()), checks[2].expected))
    annotated = annotation_counts(settings, layout)
    checks.append(Check("annotations", annotated.annotations, demo.annotations))
    print("\n".join(summary_lines(checks, duplicates, counts.versions)))
    print(annotation_line(annotated))
    print(
        "publication      "
        + ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        + " (docs/publication.md)"
    )
    print("\n".join(where_to_look(settings, layout)))
    return all(check.ok for check in checks)


def annotations_published(settings: Settings, layout: LakehouseLayout) -> bool:
    """Whether the annotations topic holds messages (an earlier demo made them)."""
    ends = topic_end_offsets(settings, [layout.annotations_topic], client_id="heritage-demo")
    return any(offset > 0 for offset in ends.get(layout.annotations_topic, {}).values())


def publish_demo_annotations(
    settings: Settings, layout: LakehouseLayout, demo: DemoInput, progress: bool
) -> str:
    """The simulator's tags and comments on the sample's records (none on records that have
    not arrived), once: it stamps each with the time it is made, so a second run would
    publish every one again as an update of itself. One line for the terminal."""
    if demo.annotations < 1:
        return "annotations: none asked for"
    if annotations_published(settings, layout):
        return f"annotations: already on {layout.annotations_topic} from an earlier run"
    result = simulate_annotations(
        settings,
        layout,
        rate=ANNOTATIONS_PER_SECOND,
        count=demo.annotations,
        seed=demo.seed,
        unknown_fraction=0.0,
        progress=progress,
    )
    return (
        f"annotations: {result.tags} tags and {result.comments} comments to "
        f"{layout.annotations_topic} ({result.skipped} already confirmed by an earlier run)"
    )


def annotation_counts(settings: Settings, layout: LakehouseLayout) -> AnnotationCounts:
    connection = connect(settings, layout.pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE kind = 'tag'), "
                "count(DISTINCT attached_to) FROM analytics.annotations"
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    return AnnotationCounts(*(int(value) for value in row)) if row else AnnotationCounts(0, 0, 0)


def annotation_line(counts: AnnotationCounts) -> str:
    return (
        f"annotations      {counts.annotations} ({counts.tags} tags) on "
        f'{counts.annotated_records} records: the explorer\'s "has annotations" facet, '
        "analytics.annotations, the tags column of analytics.objects"
    )


def publication_states(spark: SparkSession, layout: LakehouseLayout) -> dict[str, int]:
    """Objects per embargo state (none before the publication stage first ran)."""
    if table_version(spark, layout.governance_embargoes) < 0:
        return {}
    rows = spark.read.format("delta").load(layout.governance_embargoes).groupBy("state").count()
    return {str(row["state"]): int(row["count"]) for row in rows.collect()}


def print_stage(run: StageRun) -> None:
    print(f"stage {run.render()}", flush=True)


def demo_checks(
    counts: TableCounts,
    images: dict[str, int],
    manifest: SampleManifest,
    packages: DemoPackages,
) -> list[Check]:
    """Each table's count next to what the generated collection and the demo's packages
    say it must be (a package's record is one more message, cleansed or dead-lettered)."""
    valid = len(manifest.valid_record_ids) + packages.valid_records
    dead = len(manifest.malformed) + packages.invalid_records
    messages = manifest.message_count + packages.stored_versions
    return [
        Check("raw messages", counts.raw_rows, messages),
        Check("cleansed records", counts.cleansed_rows, valid),
        Check("curated records", counts.curated_rows, valid),
        Check("dead letters", counts.dead_letter_rows, dead),
        Check("analytics.objects", counts.postgres_objects, valid),
        Check("images stored", images["stored"], len(manifest.valid_record_ids)),
        Check("images failed", images["failed"], 0),
    ]


def package_lines(packages: DemoPackages) -> list[str]:
    lines = []
    if packages.signatures_written is not None:
        lines.append(
            f"clamav: no signature database; wrote the project's test signatures to "
            f"{packages.signatures_written} (they detect test files only)"
        )
    if packages.report.outcomes:
        lines.append(f"packages: {packages.report.summary()}")
        lines.extend(f"  {outcome.render()}" for outcome in packages.report.outcomes)
    if packages.already_taken:
        lines.append(
            f"packages: {packages.already_taken} demo packages taken by an earlier run; "
            "not ingested again"
        )
    return lines


def summary_lines(
    checks: Sequence[Check], duplicates: DuplicateComparison, versions: dict[str, int]
) -> list[str]:
    lines = ["summary          actual expected"]
    for check in checks:
        mark = "ok" if check.ok else "MISMATCH"
        lines.append(f"  {check.name:<17} {check.actual:>6} {check.expected:>8}  {mark}")
    lines.append(
        f"  duplicate groups  {duplicates.groups_found:>6} {duplicates.groups_expected:>8}"
        f"  ({duplicates.pairs_recovered} of {duplicates.pairs_expected} manifest pairs "
        f"grouped, {duplicates.wrongly_grouped} records grouped against it)"
    )
    lines.append("  Delta versions    " + ", ".join(f"{n} v{v}" for n, v in versions.items()))
    return lines


def where_to_look(settings: Settings, layout: LakehouseLayout) -> list[str]:
    return [
        "where to look",
        f"  Delta tables   {layout.raw_records}, {layout.cleansed_records}, ...",
        f"  images         s3://{settings.bucket}/{layout.image_prefix}/thumbnails/; "
        "similar objects: heritage ml similar RECORD_ID",
        f"  MinIO console  http://127.0.0.1:{settings.minio_console_port} "
        f"(credentials in {settings.local_env_file})",
        f"  packages       s3://{settings.bucket}/{layout.package_prefix}/ (blobs, quarantine);"
        " analytics.packages; the dashboard's Packages page",
        "  OCR            the scanned deposit's pages: analytics.ocr_pages, ocr_fields and"
        " ocr_review; the dashboard's OCR review page",
        "  publication    analytics.embargoes and publication_queue; the dashboard's Publication"
        f" page; IIIF manifests in s3://{settings.bucket}/{layout.iiif_prefix}/, served by"
        " heritage iiif serve",
        '  PostgreSQL     eval "$(heritage services env --role reader)" && '
        "psql -c 'SELECT * FROM analytics.objects LIMIT 5'",
        "  dashboard      heritage dashboard",
    ]
