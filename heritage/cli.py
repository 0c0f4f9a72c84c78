"""The `heritage` command line: every operation of the lakehouse, with --help at every level."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from heritage.json_logging import (
    LOG_FORMAT_CHOICES,
    configure_logging,
    correlation_scope,
    is_terminal,
)
from heritage.lakehouse_layout import TABLE_NAMES, LakehouseLayout
from heritage.services.processes import ServiceError
from heritage.source_rejections import SourceRejection
from heritage.stage_registry import stage_names

if TYPE_CHECKING:
    from heritage.producers.producer_report import ProducerReport

log = logging.getLogger("heritage.cli")

Handler = Callable[[argparse.Namespace], int]


def _layout(args: argparse.Namespace) -> LakehouseLayout:
    """The deployment a command works on: the product's, or an isolated namespace."""
    from heritage.lakehouse_layout import LakehouseLayout
    from heritage.settings import load_settings

    settings = load_settings()
    namespace = getattr(args, "namespace", None)
    layout = (
        LakehouseLayout.namespaced(settings, namespace)
        if namespace
        else LakehouseLayout.default(settings)
    )
    topics_from = getattr(args, "topics_from", None)
    if topics_from:
        source = LakehouseLayout.namespaced(settings, topics_from)
        layout = replace(
            layout,
            records_topic=source.records_topic,
            annotations_topic=source.annotations_topic,
            dead_letter_topic=source.dead_letter_topic,
        )
    return layout


def _progress_bars_shown() -> bool:
    """Progress bars only on a terminal: in a pipe or a file they are noise between log lines."""
    return is_terminal(sys.stderr)


def _finish_produce(report: ProducerReport, args: argparse.Namespace) -> int:
    """Print each rejected record, then the summary line; exit 1 under --strict when anything
    was rejected (or published but flagged invalid), else 0."""
    for line in report.lines():
        print(line)
    return 1 if args.strict and report.has_rejections else 0


def _services_up(args: argparse.Namespace) -> int:
    from heritage.services import stack

    stack.up()
    print(stack.format_status(stack.status()))
    return 0


def _services_down(args: argparse.Namespace) -> int:
    from heritage.services import stack

    stack.down()
    return 0


def _services_status(args: argparse.Namespace) -> int:
    from heritage.services import stack

    rows = stack.status()
    print(stack.format_status(rows))
    return 0 if all(row.healthy for row in rows) else 1


def _services_init(args: argparse.Namespace) -> int:
    from heritage.services import stack
    from heritage.settings import load_settings

    stack.initialise(load_settings())
    print("init: bucket, topics, schema and roles in place")
    return 0


def _services_env(args: argparse.Namespace) -> int:
    from heritage.services import stack
    from heritage.settings import load_settings

    print(stack.shell_exports(load_settings()))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from heritage.demo import run_demo

    return run_demo(records=args.records, seed=args.seed)


def _produce_sample(args: argparse.Namespace) -> int:
    from heritage.pipeline import prepare, produce_sample
    from heritage.producers.producer_report import sample_report
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
    prepare(settings, layout)
    result = produce_sample(
        settings, layout, args.records, args.seed, progress=_progress_bars_shown()
    )
    return _finish_produce(sample_report(result), args)


def _produce_europeana(args: argparse.Namespace) -> int:
    from heritage.lakehouse_layout import LakehouseLayout
    from heritage.producers.europeana_client import (
        SEARCH_URL,
        ApiKeyMissingError,
        ClientConfig,
        EuropeanaApiError,
        EuropeanaQuery,
        load_api_key,
        publish_europeana,
    )
    from heritage.producers.producer_report import europeana_report
    from heritage.settings import load_settings

    settings = load_settings()
    try:
        result = publish_europeana(
            settings,
            EuropeanaQuery(
                query=args.query, qf=tuple(args.qf), profile=args.profile, rows=args.rows
            ),
            load_api_key(args.api_key_file),
            args.state_dir or settings.state_dir / "producers" / "europeana",
            LakehouseLayout.default(settings).ledger_path,
            base_url=args.base_url or SEARCH_URL,
            max_records=args.max_records,
            client_config=ClientConfig(requests_per_second=args.requests_per_second),
            progress=_progress_bars_shown(),
        )
    except (ApiKeyMissingError, EuropeanaApiError) as error:
        print(f"heritage produce europeana: {error}", file=sys.stderr)
        return 1
    return _finish_produce(europeana_report(result), args)


def _produce_lido(args: argparse.Namespace) -> int:
    from heritage.producers.lido_drop import LidoDropError, publish_lido
    from heritage.producers.producer_report import lido_report
    from heritage.producers.xml_sniff import not_xml_refusal
    from heritage.settings import load_settings

    refusal = not_xml_refusal(args.paths)
    if refusal is not None:
        print(f"heritage produce lido: {refusal}", file=sys.stderr)
        return 2
    settings = load_settings()
    layout = _layout(args)
    try:
        result = publish_lido(
            settings,
            args.paths,
            layout.producer_state_dir / "lido.sqlite",
            topic=layout.records_topic,
            dlq_topic=layout.dead_letter_topic,
            progress=_progress_bars_shown(),
        )
    except LidoDropError as error:
        print(f"heritage produce lido: {error}", file=sys.stderr)
        return 1
    return _finish_produce(lido_report(result, Path.cwd()), args)


def _produce_csv(args: argparse.Namespace) -> int:
    from heritage.producers.csv_drop import CsvDropError, publish_csv
    from heritage.producers.producer_report import csv_report
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
    producers_dir = layout.producer_state_dir
    try:
        result = publish_csv(
            settings,
            args.path,
            args.collection,
            producers_dir / "csv.sqlite",
            producers_dir / "csv_rows.sqlite",
            encoding=args.encoding,
            fallback_encoding=args.fallback_encoding,
            delimiter=args.delimiter,
            allow_empty_export=args.allow_empty_export,
            topic=layout.records_topic,
            dlq_topic=layout.dead_letter_topic,
            progress=_progress_bars_shown(),
        )
    except CsvDropError as error:
        print(f"heritage produce csv: {error}", file=sys.stderr)
        return 1
    return _finish_produce(csv_report(result, args.path, args.collection, Path.cwd()), args)


def _produce_oai(args: argparse.Namespace) -> int:
    from heritage.producers.oai_pmh_harvest_state import reset_quarantine
    from heritage.producers.oai_pmh_harvester import (
        EndpointQuarantined,
        OaiEndpointConfig,
        RetryPolicy,
        harvest,
    )
    from heritage.producers.oai_pmh_http import OaiHttpError
    from heritage.producers.producer_report import oai_report
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
    state_dir = args.state_dir or settings.state_dir / "producers"
    if args.reset_quarantine:
        lifted = reset_quarantine(state_dir, args.base_url)
        print(f"{args.base_url}: " + ("quarantine lifted" if lifted else "was not quarantined"))
        return 0
    try:
        endpoint = OaiEndpointConfig(
            base_url=args.base_url,
            metadata_prefixes=tuple(args.prefixes or ("oai_dc",)),
            sets=tuple(args.sets or (None,)),
            use_list_identifiers=args.list_identifiers,
            initial_from=args.initial_from,
            max_concurrent_requests=args.max_concurrent,
            retry=RetryPolicy(max_attempts=args.max_attempts, timeout_s=args.timeout),
            failure_threshold=args.failure_threshold,
            mapping_workers=args.mapping_workers,
        )
    except SourceRejection as error:
        print(f"heritage produce oai: {error}", file=sys.stderr)
        return 2
    try:
        result = harvest(
            settings,
            endpoint,
            state_dir,
            layout.records_topic,
            ledger_path=layout.ledger_path,
            dead_letter_topic=layout.dead_letter_topic,
        )
    except (EndpointQuarantined, OaiHttpError) as error:
        print(f"heritage produce oai: {error}", file=sys.stderr)
        return 3 if isinstance(error, EndpointQuarantined) else 2
    status = _finish_produce(oai_report(result), args)
    return status if result.ok else 1


def _oai_serve(args: argparse.Namespace) -> int:
    from heritage.producers.simulators.oai_pmh_server import config_from_arguments, serve

    serve(config_from_arguments(args.passthrough, prog="heritage oai serve"))
    return 0


def _produce_annotations(args: argparse.Namespace) -> int:
    from heritage.producers.producer_report import annotations_report
    from heritage.producers.simulators.annotation_simulator import simulate_annotations
    from heritage.settings import load_settings

    if args.count is None and args.duration is None:
        print("heritage produce annotations: give --count or --duration", file=sys.stderr)
        return 2
    result = simulate_annotations(
        load_settings(),
        rate=args.rate,
        count=args.count,
        seed=args.seed,
        duration_s=args.duration,
        unknown_fraction=args.unknown_fraction,
        refresh_interval_s=args.refresh_interval,
        progress=_progress_bars_shown(),
    )
    return _finish_produce(annotations_report(result), args)


def _lakehouse_run(args: argparse.Namespace) -> int:
    from heritage.pipeline import prepare, run_stages
    from heritage.settings import load_settings

    settings = load_settings()
    layout = _layout(args)
    prepare(settings, layout)
    if args.continuous:
        import signal
        import threading

        from heritage.pipeline import run_continuously

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        print(f"running continuously every {args.interval:g} s; Ctrl-C or SIGTERM stops")
        only = None if args.stage == "all" else args.stage
        run_continuously(settings, layout, args.interval, stop, skip=args.skip, only=only)
        return 0
    report = run_stages(
        settings,
        layout,
        args.stage,
        skip=args.skip,
        progress=_progress_bars_shown(),
        on_stage=lambda run: print(run.render(), flush=True),
    )
    total = sum(run.seconds for run in report.runs)
    idle = all(run.result.nothing_new for run in report.runs)
    print(f"{len(report.runs)} stages in {total:.1f}s" + ("; nothing new" if idle else ""))
    return 0


def _lakehouse_reconcile(args: argparse.Namespace) -> int:
    from heritage.lakehouse_reconcile import reconcile_lakehouse
    from heritage.settings import load_settings

    settings = load_settings()
    report = reconcile_lakehouse(settings, _layout(args))
    print(report.render())
    return 0 if report.balanced else 1


def _lakehouse_maintain(args: argparse.Namespace) -> int:
    from heritage.pipeline import lakehouse_session
    from heritage.settings import load_settings
    from heritage.spark_apps.table_maintenance import maintain_table

    settings = load_settings()
    spark = lakehouse_session(settings)
    for name, path in _layout(args).tables().items():
        result = maintain_table(spark, name, path, args.retention_hours)
        print(
            f"{name:<20} compacted {result.files_compacted} files into {result.files_added}; "
            f"vacuumed files older than {args.retention_hours} h"
        )
    return 0


def _lakehouse_history(args: argparse.Namespace) -> int:
    from heritage.pipeline import lakehouse_session
    from heritage.settings import load_settings
    from heritage.spark_apps.table_maintenance import table_history

    settings = load_settings()
    path = _layout(args).tables()[args.table]
    for commit in table_history(lakehouse_session(settings), path, args.limit):
        metrics: dict[str, str] = commit["operationMetrics"] or {}  # type: ignore[assignment]
        shown = ", ".join(f"{k}={v}" for k, v in sorted(metrics.items()) if v not in ("0", None))
        print(f"v{commit['version']:<5} {commit['timestamp']}  {commit['operation']:<18} {shown}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from heritage.dashboard.launch import launch_dashboard

    return launch_dashboard(port=args.port, address=args.address, headless=args.headless)


def _validate(args: argparse.Namespace) -> int:
    from heritage.producers.record_file_validation import (
        CsvReading,
        ValidationInputError,
        validate_paths,
    )

    csv_reading = CsvReading(args.encoding, args.fallback_encoding, args.delimiter)
    try:
        report = validate_paths(args.paths, args.format, args.collection, csv_reading)
    except ValidationInputError as error:
        print(f"heritage validate: {error}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.all_ok else 1


def _run_bench_script(name: str, arguments: list[str]) -> int:
    import runpy

    from heritage.settings import PROJECT_ROOT

    script = PROJECT_ROOT / "bench" / f"{name}.py"
    if not script.is_file():
        raise ServiceError(f"benchmark script {script} not found: run from a source checkout")
    sys.argv = [str(script), *arguments]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _bench_skeleton(args: argparse.Namespace) -> int:
    return _run_bench_script("skeleton", ["--records", str(args.records), "--seed", str(args.seed)])


def _bench_europeana(args: argparse.Namespace) -> int:
    return _run_bench_script("europeana_replay", ["--records", str(args.records)])


def _add_namespace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        help="work on an isolated deployment (own topics, tables under ns/NAME, database "
        "heritage_NAME) instead of the product's; for replays, backfills and tests",
    )


def _add_strict_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any record was rejected in this run (or published in this run but "
        "flagged invalid; unchanged records are not sent or checked again); default: exit 0, "
        "the rejections are only listed",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heritage",
        description="Cultural-heritage lakehouse: Kafka -> Delta on S3 -> PostgreSQL, "
        "with near-duplicates in Qdrant and a Streamlit explorer.",
        epilog="Start with `heritage services up`, then `heritage demo`. "
        "Logs go to stderr, each line with the run's correlation_id: human lines on a "
        "terminal, JSON lines otherwise (see --log-format).",
    )
    parser.add_argument("--log-level", default="INFO", help="log level (default: INFO)")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMAT_CHOICES,
        default="auto",
        help="log lines on stderr: json (one object a line, for tools), human (time, level, "
        "message, key=value, short correlation id) or auto: human on a terminal, else json "
        "(default: auto)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    services = commands.add_parser(
        "services",
        help="start, stop and inspect the local stack (Kafka, MinIO, PostgreSQL)",
        description="The local stack without Docker: an Apache Kafka broker (KRaft), MinIO "
        "and a PostgreSQL cluster on loopback, all state in .state/. Qdrant runs embedded "
        "unless QDRANT_URL is set.",
    )
    service_commands = services.add_subparsers(dest="action", required=True, metavar="ACTION")
    service_commands.add_parser(
        "up",
        help="start every service not running, then create bucket, topics, schema, roles",
        description="Start Kafka, MinIO and PostgreSQL (generating credentials on first use) "
        "and wait until each answers; idempotent.",
    ).set_defaults(handler=_services_up)
    service_commands.add_parser(
        "down",
        help="stop exactly the processes `up` started",
        description="Stop the processes recorded in .state/run; data is kept.",
    ).set_defaults(handler=_services_down)
    service_commands.add_parser(
        "status",
        help="print each service's health, address and version (exit 1 if any is down)",
        description="Health, address and version of each service.",
    ).set_defaults(handler=_services_status)
    service_commands.add_parser(
        "init",
        help="create bucket, topics, schema and roles on already running services",
        description="The one-shot init (what compose's `init` service runs): the bucket, "
        "the Kafka topics, the PostgreSQL schema and the read-only role. Idempotent.",
    ).set_defaults(handler=_services_init)
    service_commands.add_parser(
        "env",
        help='print shell exports: eval "$(heritage services env)"',
        description="Print `export` lines (PGHOST... KAFKA_BOOTSTRAP_SERVERS, AWS_*, the "
        "bucket, the Qdrant location) so psql, mc/aws and Kafka tools reach the stack.",
    ).set_defaults(handler=_services_env)

    demo = commands.add_parser(
        "demo",
        help="run the walking skeleton end to end on a generated sample collection",
        description="Start the stack, generate a Europeana-shaped sample collection, publish "
        "it to Kafka, run raw -> cleansed (+ dead letters) -> PostgreSQL, and print a summary. "
        "Running it again changes nothing.",
    )
    demo.add_argument("--records", type=int, default=1000, help="sample size (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    demo.set_defaults(handler=_demo)

    produce = commands.add_parser(
        "produce",
        help="publish records to Kafka",
        description="Publish records to Kafka. Each command prints one line per rejected "
        "record on stdout (file:line, or the record id, then the reasons) and ends with a "
        "summary: read, published, rejected, unchanged. With --strict it exits 1 when "
        "anything was rejected.",
    )
    produce_commands = produce.add_subparsers(dest="source", required=True, metavar="SOURCE")
    sample = produce_commands.add_parser(
        "sample",
        help="the generated sample collection",
        description="Publish the generated sample collection to heritage.records, keyed by "
        "record_id; messages already confirmed earlier are not sent again.",
    )
    sample.add_argument("--records", type=int, default=1000, help="sample size (default 1000)")
    sample.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    _add_namespace_option(sample)
    _add_strict_option(sample)
    sample.set_defaults(handler=_produce_sample)
    europeana = produce_commands.add_parser(
        "europeana",
        help="harvest the Europeana Search API (cursor paging, resumable)",
        description="Harvest the Europeana Search API into heritage.records. The API key comes "
        "from EUROPEANA_API_KEY or --api-key-file and never appears in ids, messages, logs or "
        "errors. A rerun resumes from the saved cursor; unchanged records are not re-sent.",
    )
    europeana.add_argument("--query", default="*", help="search query (default *)")
    europeana.add_argument(
        "--qf", action="append", default=[], help="query refinement, repeatable (e.g. TYPE:IMAGE)"
    )
    europeana.add_argument("--profile", default="standard", help="response profile")
    europeana.add_argument("--rows", type=int, default=100, help="items per page, 1-100")
    europeana.add_argument("--api-key-file", type=Path, help="file holding the API key")
    europeana.add_argument("--max-records", type=int, help="stop after this many (resumable)")
    europeana.add_argument(
        "--requests-per-second", type=float, default=10.0, help="rate limit (default 10)"
    )
    europeana.add_argument("--base-url", help="Search API URL (default: the public API)")
    europeana.add_argument("--state-dir", type=Path, help="cursor state folder")
    _add_strict_option(europeana)
    europeana.set_defaults(handler=_produce_europeana)
    lido = produce_commands.add_parser(
        "lido",
        help="LIDO XML files or folders (one or many records per file)",
        description="Publish LIDO records from files and folders (searched recursively for "
        "*.xml; lido:lido, lido:lidoWrap or OAI-PMH responses). Records that break the LIDO "
        "content rules go to heritage.dlq with every reason; a rerun publishes only new or "
        "changed records. A file named here that is not XML is refused (exit 2) before "
        "anything is published.",
    )
    lido.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    _add_namespace_option(lido)
    _add_strict_option(lido)
    lido.set_defaults(handler=_produce_lido)
    csv_drop = produce_commands.add_parser(
        "csv",
        help="a CSV collection export (new, changed and removed rows)",
        description="Publish a collection export. Row hashes per collection make a rerun "
        "publish only new or changed rows; rows gone since the last run become deletions. Bad "
        "rows go to heritage.dlq with file, line and reason.",
    )
    csv_drop.add_argument("path", type=Path, help="the CSV file")
    csv_drop.add_argument(
        "--collection", required=True, help="collection name (part of every record id)"
    )
    csv_drop.add_argument(
        "--encoding",
        default="utf-8",
        help="file encoding when it has no byte-order mark (default utf-8; a BOM names UTF-8, "
        "UTF-16 or UTF-32 itself)",
    )
    csv_drop.add_argument("--fallback-encoding", help="for lines that do not decode")
    csv_drop.add_argument("--delimiter", help="field delimiter (default: sniffed)")
    csv_drop.add_argument(
        "--allow-empty-export",
        action="store_true",
        help="accept an export with no rows (it deletes the whole collection)",
    )
    _add_namespace_option(csv_drop)
    _add_strict_option(csv_drop)
    csv_drop.set_defaults(handler=_produce_csv)
    oai = produce_commands.add_parser(
        "oai",
        help="harvest an OAI-PMH repository incrementally (resumable)",
        description="Harvest an OAI-PMH endpoint (oai_dc, lido, edm, iso19139) into "
        "heritage.records: incremental from/until, resumption tokens, Retry-After and backoff, "
        "a circuit breaker per endpoint, deletions as tombstones, unusable pages to "
        "heritage.dlq. State is saved only after Kafka confirmed the records, so a killed "
        "harvest resumes where it stopped. Exit 1: a list failed (with --strict, also: a page "
        "or record was dead-lettered); 2: requests kept failing; 3: the endpoint is "
        "quarantined.",
    )
    oai.add_argument("--base-url", required=True, help="the repository's OAI-PMH base URL")
    oai.add_argument(
        "--prefix", action="append", dest="prefixes", help="metadataPrefix, repeatable (oai_dc)"
    )
    oai.add_argument("--set", action="append", dest="sets", help="setSpec, repeatable")
    oai.add_argument("--list-identifiers", action="store_true", help="ListIdentifiers + GetRecord")
    oai.add_argument("--from", dest="initial_from", help="from-datestamp of a first harvest")
    oai.add_argument("--max-concurrent", type=int, default=50, help="requests at once (50)")
    oai.add_argument("--mapping-workers", type=int, default=0, help="mapping processes (0)")
    oai.add_argument("--failure-threshold", type=int, default=10, help="failures to quarantine")
    oai.add_argument("--max-attempts", type=int, default=6, help="attempts per request (6)")
    oai.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    oai.add_argument("--state-dir", type=Path, help="harvest state folder")
    oai.add_argument(
        "--reset-quarantine", action="store_true", help="lift the endpoint's quarantine and exit"
    )
    _add_namespace_option(oai)
    _add_strict_option(oai)
    oai.set_defaults(handler=_produce_oai)
    annotations = produce_commands.add_parser(
        "annotations",
        help="simulate user tags and comments on known records",
        description="Publish user tags and comments on record ids seen in heritage.records "
        "to heritage.annotations, keyed by annotation id, at a steady rate.",
    )
    annotations.add_argument("--rate", type=float, default=20.0, help="annotations/s (default 20)")
    annotations.add_argument("--count", type=int, help="how many to publish")
    annotations.add_argument("--duration", type=float, help="or for how many seconds")
    annotations.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    annotations.add_argument(
        "--unknown-fraction",
        type=float,
        default=0.05,
        help="share aimed at records not seen yet (default 0.05)",
    )
    annotations.add_argument(
        "--refresh-interval", type=float, default=5.0, help="seconds between record-list refreshes"
    )
    _add_strict_option(annotations)
    annotations.set_defaults(handler=_produce_annotations)

    lakehouse = commands.add_parser(
        "lakehouse",
        help="run the Spark stages (raw, cleanse, ml, curate, export)",
        description="The Delta tables on the object store and their export to PostgreSQL.",
    )
    lakehouse_commands = lakehouse.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = lakehouse_commands.add_parser(
        "run",
        help="run stages once over all new input (availableNow)",
        description="Run raw ingest, cleanse, ml (images, embeddings, duplicates), curate and "
        "export once over whatever input is "
        "new (Structured Streaming with an availableNow trigger; each stage is idempotent).",
    )
    run.add_argument(
        "--stage",
        choices=("all", *stage_names()),
        default="all",
        help="which stage (default: all)",
    )
    run.add_argument(
        "--skip",
        action="append",
        choices=stage_names(),
        default=[],
        help="leave a stage out (repeatable; compose runs ml in its own service)",
    )
    run.add_argument(
        "--continuous",
        action="store_true",
        help="keep running: raw and cleanse as processingTime streaming queries, curate and "
        "export every --interval seconds (default: availableNow, once)",
    )
    run.add_argument(
        "--interval", type=float, default=30.0, help="seconds between micro-batches (default 30)"
    )
    _add_namespace_option(run)
    run.add_argument(
        "--topics-from",
        metavar="NAMESPACE",
        help="read the topics of another namespace (replay its input into this deployment)",
    )
    run.set_defaults(handler=_lakehouse_run)
    reconcile = lakehouse_commands.add_parser(
        "reconcile",
        help="check that every input ended in exactly one place (exit 1 if not)",
        description="Per source: every record id in raw is cleansed, dead-lettered or deleted, "
        "and PostgreSQL holds one row per cleansed record. Exits 1 when anything does not "
        "reconcile, printing examples.",
    )
    _add_namespace_option(reconcile)
    reconcile.set_defaults(handler=_lakehouse_reconcile)
    maintain = lakehouse_commands.add_parser(
        "maintain",
        help="OPTIMIZE and VACUUM every table (safe retention)",
        description="Compact small files (OPTIMIZE) and remove files no longer referenced and "
        "older than the retention (VACUUM). The retention cannot go below 168 hours.",
    )
    maintain.add_argument(
        "--retention-hours", type=int, default=168, help="VACUUM retention (default/min 168)"
    )
    _add_namespace_option(maintain)
    maintain.set_defaults(handler=_lakehouse_maintain)
    history = lakehouse_commands.add_parser(
        "history",
        help="the commits of one table: version, time, operation, metrics",
        description="The Delta log of one table, newest first.",
    )
    history.add_argument(
        "table",
        choices=TABLE_NAMES,
        help="which table",
    )
    history.add_argument("--limit", type=int, default=20, help="commits to show (default 20)")
    _add_namespace_option(history)
    history.set_defaults(handler=_lakehouse_history)

    oai_server = commands.add_parser(
        "oai",
        help="the project's own OAI-PMH test repository",
        description="A local OAI-PMH 2.0 repository of generated records, for tests, the "
        "demo and benchmarks.",
    )
    oai_commands = oai_server.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = oai_commands.add_parser(
        "serve",
        add_help=False,
        help="serve N generated records in oai_dc, lido, edm and iso19139 (--help for options)",
        description="Serve generated records; options: `heritage oai serve --help`.",
    )
    # Its options belong to the server's own parser: main() passes them through.
    serve.set_defaults(handler=_oai_serve, takes_passthrough=True)

    dashboard = commands.add_parser(
        "dashboard",
        help="open the Streamlit explorer",
        description="Run the Streamlit explorer against PostgreSQL's analytics views.",
    )
    dashboard.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    dashboard.add_argument(
        "--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    dashboard.add_argument("--headless", action="store_true", help="do not open a browser window")
    dashboard.set_defaults(handler=_dashboard)

    validate = commands.add_parser(
        "validate",
        help="check source files against the record contract (publishes nothing)",
        description="Read LIDO, CSV, OAI-PMH, EDM or Europeana JSON files (folders are "
        "searched for *.xml, *.csv, *.tsv and *.json), map each record with the code its "
        "producer uses and apply the cleanse stage's rules. Prints `OK <where>` per good "
        "record and `<where>: <reason>` per problem (where: file:line, or file and record id), "
        "then a summary. Needs no services. Exit 0: every record valid; 1: some are not; "
        "2: a path does not exist.",
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    validate.add_argument(
        "--format",
        choices=("lido", "csv", "oai-xml", "edm", "europeana-json"),
        help="the files' format (default: told per file from its name and root element)",
    )
    validate.add_argument(
        "--collection",
        default="validate",
        help="CSV only: the collection name the records would be published under",
    )
    validate.add_argument(
        "--encoding",
        default="utf-8",
        help="file encoding when it has no byte-order mark (default utf-8; a BOM names UTF-8, "
        "UTF-16 or UTF-32 itself)",
    )
    validate.add_argument("--fallback-encoding", help="for lines that do not decode")
    validate.add_argument("--delimiter", help="field delimiter (default: sniffed)")
    validate.set_defaults(handler=_validate)

    bench = commands.add_parser(
        "bench", help="benchmarks (figures go to docs/benchmarks.md)", description="Benchmarks."
    )
    bench_commands = bench.add_subparsers(dest="name", required=True, metavar="BENCHMARK")
    skeleton = bench_commands.add_parser(
        "skeleton",
        help="records/s for each hop of the skeleton and end to end",
        description="Time produce -> raw -> cleanse -> export on N generated records in an "
        "isolated namespace (own topic, tables and database), and print records/s per hop.",
    )
    skeleton.add_argument("--records", type=int, default=10_000, help="records (default 10000)")
    skeleton.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    skeleton.set_defaults(handler=_bench_skeleton)
    europeana_bench = bench_commands.add_parser(
        "europeana",
        help="Europeana replay records/s (client + publish)",
        description="Harvest N synthetic records from a local Europeana replay server into a "
        "fresh topic and print records/s for a first run and a rerun.",
    )
    europeana_bench.add_argument(
        "--records", type=int, default=20_000, help="records (default 20000)"
    )
    europeana_bench.set_defaults(handler=_bench_europeana)

    from heritage.ml.cli_commands import add_ml_commands

    add_ml_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, passthrough = parser.parse_known_args(argv)
    if passthrough and not getattr(args, "takes_passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(passthrough)}")
    args.passthrough = passthrough
    configure_logging(args.log_level, args.log_format)
    handler: Handler = args.handler
    with correlation_scope() as correlation_id:
        log.debug("command started", extra={"command": args.command})
        try:
            return handler(args)
        except ServiceError as error:
            print(f"heritage {args.command}: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(
                f"heritage {args.command}: interrupted (correlation_id {correlation_id})",
                file=sys.stderr,
            )
            return 130


if __name__ == "__main__":
    sys.exit(main())
