"""``heritage produce sample|europeana|lido|csv|scans|oai|annotations``: publish records to Kafka.

Every producer takes ``(settings, layout, ...)``: the layout (the product's, or the one of
--namespace) names its topics, its ledger and its state folder. Each producer module loads
pydantic, kafka-python and its parser; it is imported by its own command only, so that
`heritage --help` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heritage.cli.common_options import (
    Handler,
    add_broker_timeout_option,
    add_namespace_option,
    add_strict_option,
    deployment_layout,
    finish_produce,
    producer_settings,
    progress_bars_shown,
)
from heritage.producers.broker_wait import BrokerUnavailable
from heritage.producers.xml_sniff import not_xml_refusal
from heritage.source_rejections import SourceRejection

if TYPE_CHECKING:
    from heritage.producers.oai_pmh_harvester import OaiEndpointConfig


def _giving_up_on_the_broker(handler: Handler) -> Handler:
    """``handler``, ending in one line on stderr and exit 2 when the Kafka broker stayed
    unreachable past --broker-timeout (what Kafka confirmed is in the ledger)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except BrokerUnavailable as error:
            print(f"heritage produce {args.source}: {error}", file=sys.stderr)
            return 2

    return run


def _sample(args: argparse.Namespace) -> int:
    from heritage import pipeline
    from heritage.producers.producer_report import sample_report

    if args.update_fraction + args.delete_fraction > 1 + 1e-9:  # float sums can overshoot 1
        print(
            "heritage produce sample: --update-fraction plus --delete-fraction must be at "
            f"most 1, got {args.update_fraction} + {args.delete_fraction}",
            file=sys.stderr,
        )
        return 2
    settings = producer_settings(args)
    layout = deployment_layout(settings, args)
    pipeline.prepare(settings, layout)
    result = pipeline.produce_sample(
        settings,
        layout,
        args.records,
        args.seed,
        progress=progress_bars_shown(),
        update_fraction=args.update_fraction,
        delete_fraction=args.delete_fraction,
    )
    return finish_produce(sample_report(result), args)


def _fraction(text: str) -> float:
    """An argparse type: a share from 0 to 1 (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _europeana(args: argparse.Namespace) -> int:
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

    settings = producer_settings(args)
    query = EuropeanaQuery(
        query=args.query, qf=tuple(args.qf), profile=args.profile, rows=args.rows
    )
    try:
        result = publish_europeana(
            settings,
            deployment_layout(settings, args),
            query,
            load_api_key(args.api_key_file),
            state_dir=args.state_dir,
            base_url=args.base_url or SEARCH_URL,
            max_records=args.max_records,
            client_config=ClientConfig(requests_per_second=args.requests_per_second),
            progress=progress_bars_shown(),
        )
    except (ApiKeyMissingError, EuropeanaApiError) as error:
        print(f"heritage produce europeana: {error}", file=sys.stderr)
        return 1
    return finish_produce(europeana_report(result), args)


def _lido(args: argparse.Namespace) -> int:
    from heritage.producers.lido_drop import LidoDropError, publish_lido
    from heritage.producers.producer_report import lido_report

    refusal = not_xml_refusal(args.paths)
    if refusal is not None:
        print(f"heritage produce lido: {refusal}", file=sys.stderr)
        return 2
    settings = producer_settings(args)
    layout = deployment_layout(settings, args)
    try:
        result = publish_lido(settings, layout, args.paths, progress=progress_bars_shown())
    except LidoDropError as error:
        print(f"heritage produce lido: {error}", file=sys.stderr)
        return 1
    return finish_produce(lido_report(result, Path.cwd()), args)


def _csv(args: argparse.Namespace) -> int:
    from heritage.producers.csv_drop import CsvDropError, publish_csv
    from heritage.producers.producer_report import csv_report

    settings = producer_settings(args)
    try:
        result = publish_csv(
            settings,
            deployment_layout(settings, args),
            args.path,
            args.collection,
            encoding=args.encoding,
            fallback_encoding=args.fallback_encoding,
            delimiter=args.delimiter,
            allow_empty_export=args.allow_empty_export,
            progress=progress_bars_shown(),
        )
    except CsvDropError as error:
        print(f"heritage produce csv: {error}", file=sys.stderr)
        return 1
    return finish_produce(csv_report(result, args.path, args.collection, Path.cwd()), args)


def _scans(args: argparse.Namespace) -> int:
    from heritage.ocr.file_reading import load_ocr_config
    from heritage.producers.producer_report import scan_report
    from heritage.producers.scan_drop import publish_scans

    settings = producer_settings(args)
    defaults = {"data_provider": args.data_provider or "", "rights": args.rights or ""}
    try:
        result = publish_scans(
            settings,
            deployment_layout(settings, args),
            args.paths,
            args.collection,
            load_ocr_config(settings),
            sidecar=args.sidecar,
            defaults=defaults,
            workers=args.workers,
            progress=progress_bars_shown(),
        )
    except (SourceRejection, FileNotFoundError) as error:
        print(f"heritage produce scans: {error}", file=sys.stderr)
        return 1
    return finish_produce(scan_report(result), args)


def _oai_endpoint(args: argparse.Namespace) -> OaiEndpointConfig:
    """The one place an OaiEndpointConfig is built from command-line options."""
    from heritage.producers.oai_pmh_harvester import OaiEndpointConfig
    from heritage.producers.oai_pmh_http import oai_http_policy

    return OaiEndpointConfig(
        base_url=args.base_url,
        metadata_prefixes=tuple(args.prefixes or ("oai_dc",)),
        sets=tuple(args.sets or (None,)),
        use_list_identifiers=args.list_identifiers,
        initial_from=args.initial_from,
        max_concurrent_requests=args.max_concurrent,
        retry=oai_http_policy(max_attempts=args.max_attempts, timeout_s=args.timeout),
        failure_threshold=args.failure_threshold,
        mapping_workers=args.mapping_workers,
    )


def _oai(args: argparse.Namespace) -> int:
    from heritage.producers.oai_pmh_harvest_state import reset_quarantine
    from heritage.producers.oai_pmh_harvester import harvest
    from heritage.producers.oai_pmh_http import EndpointQuarantined, OaiHttpError
    from heritage.producers.producer_report import oai_report

    settings = producer_settings(args)
    layout = deployment_layout(settings, args)
    state_dir = args.state_dir or layout.state_dir_for("oai")
    if args.reset_quarantine:
        lifted = reset_quarantine(state_dir, args.base_url)
        print(f"{args.base_url}: " + ("quarantine lifted" if lifted else "was not quarantined"))
        return 0
    try:
        endpoint = _oai_endpoint(args)
    except SourceRejection as error:
        print(f"heritage produce oai: {error}", file=sys.stderr)
        return 2
    try:
        result = harvest(settings, layout, endpoint, state_dir=state_dir)
    except (EndpointQuarantined, OaiHttpError) as error:
        print(f"heritage produce oai: {error}", file=sys.stderr)
        return 3 if isinstance(error, EndpointQuarantined) else 2
    status = finish_produce(oai_report(result), args)
    return status if result.ok else 1


def _annotations(args: argparse.Namespace) -> int:
    from heritage.producers.producer_report import annotations_report
    from heritage.producers.simulators.annotation_simulator import simulate_annotations

    if args.count is None and args.duration is None:
        print("heritage produce annotations: give --count or --duration", file=sys.stderr)
        return 2
    settings = producer_settings(args)
    result = simulate_annotations(
        settings,
        deployment_layout(settings, args),
        rate=args.rate,
        count=args.count,
        seed=args.seed,
        duration_s=args.duration,
        unknown_fraction=args.unknown_fraction,
        refresh_interval_s=args.refresh_interval,
        progress=progress_bars_shown(),
    )
    return finish_produce(annotations_report(result), args)


def _add_sample(sources: Any) -> None:
    sample = sources.add_parser(
        "sample",
        help="the generated sample collection",
        description="Publish the generated sample collection to heritage.records, keyed by "
        "record_id; messages already confirmed earlier are not sent again.",
    )
    sample.add_argument("--records", type=int, default=1000, help="sample size (default 1000)")
    sample.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    sample.add_argument(
        "--update-fraction",
        type=_fraction,
        default=0.0,
        help="after the records, publish revisions (new content, same record id, a later "
        "source timestamp) of round(F x records) of them, 0..1 (default 0)",
    )
    sample.add_argument(
        "--delete-fraction",
        type=_fraction,
        default=0.0,
        help="then publish deletions (tombstones) of round(F x records) others, 0..1; with "
        "--update-fraction at most 1 in all (default 0)",
    )
    add_namespace_option(sample)
    add_strict_option(sample)
    add_broker_timeout_option(sample)
    sample.set_defaults(handler=_giving_up_on_the_broker(_sample))


def _add_europeana(sources: Any) -> None:
    europeana = sources.add_parser(
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
    add_namespace_option(europeana)
    add_strict_option(europeana)
    add_broker_timeout_option(europeana)
    europeana.set_defaults(handler=_giving_up_on_the_broker(_europeana))


def _add_lido(sources: Any) -> None:
    lido = sources.add_parser(
        "lido",
        help="LIDO XML files or folders (one or many records per file)",
        description="Publish LIDO records from files and folders (searched recursively for "
        "*.xml; lido:lido, lido:lidoWrap or OAI-PMH responses). Records that break the LIDO "
        "content rules go to heritage.dlq with every reason; a rerun publishes only new or "
        "changed records. A file named here that is not XML is refused (exit 2) before "
        "anything is published.",
    )
    lido.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    add_namespace_option(lido)
    add_strict_option(lido)
    add_broker_timeout_option(lido)
    lido.set_defaults(handler=_giving_up_on_the_broker(_lido))


def _add_csv(sources: Any) -> None:
    csv_drop = sources.add_parser(
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
    add_namespace_option(csv_drop)
    add_strict_option(csv_drop)
    add_broker_timeout_option(csv_drop)
    csv_drop.set_defaults(handler=_giving_up_on_the_broker(_csv))


def _add_scans(sources: Any) -> None:
    scans = sources.add_parser(
        "scans",
        help="loose scans (images, multi-page TIFFs, PDFs) read by OCR",
        description="Read each scan by OCR (Tesseract; languages and page segmentation per "
        "collection in config/ocr/collections.toml), store it with its page texts and hOCR in "
        "the object store, and publish one record per file with the text, its confidence, "
        "the fields found in it and the sidecar's known fields. Pages below the confidence "
        "threshold are flagged for review. A rerun publishes only what changed.",
    )
    scans.add_argument("paths", nargs="+", type=Path, help="scan files or folders of them")
    scans.add_argument(
        "--collection", required=True, help="collection name (part of every record id)"
    )
    scans.add_argument(
        "--sidecar",
        type=Path,
        help="CSV or JSON of known fields per scan: a 'file' column (relative path or file "
        "name) and any of id, title, creator, date, description, rights, data_provider, "
        "language, type ('|' separates values)",
    )
    scans.add_argument("--data-provider", help="institution for scans the sidecar names none")
    scans.add_argument("--rights", help="rights statement URI for scans the sidecar gives none")
    scans.add_argument(
        "--workers", type=int, default=2, help="OCR processes, one page at a time each (2)"
    )
    add_namespace_option(scans)
    add_strict_option(scans)
    add_broker_timeout_option(scans)
    scans.set_defaults(handler=_giving_up_on_the_broker(_scans))


def _add_oai(sources: Any) -> None:
    oai = sources.add_parser(
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
    add_namespace_option(oai)
    add_strict_option(oai)
    add_broker_timeout_option(oai)
    oai.set_defaults(handler=_giving_up_on_the_broker(_oai))


def _add_annotations(sources: Any) -> None:
    annotations = sources.add_parser(
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
    add_namespace_option(annotations)
    add_strict_option(annotations)
    add_broker_timeout_option(annotations)
    annotations.set_defaults(handler=_giving_up_on_the_broker(_annotations))


def add_commands(commands: Any) -> None:
    """Add the ``produce`` group to the top-level subparsers."""
    produce = commands.add_parser(
        "produce",
        help="publish records to Kafka",
        description="Publish records to Kafka. Each command prints one line per rejected "
        "record on stdout (file:line, or the record id, then the reasons) and ends with a "
        "summary: read, published, rejected, unchanged. With --strict it exits 1 when "
        "anything was rejected. While the Kafka broker is unreachable it retries, one status "
        "line per retry; after --broker-timeout it exits 2 with one line saying what to do, "
        "and a rerun sends only what Kafka had not confirmed.",
    )
    sources = produce.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for add_source in (
        _add_sample,
        _add_europeana,
        _add_lido,
        _add_csv,
        _add_scans,
        _add_oai,
        _add_annotations,
    ):
        add_source(sources)
