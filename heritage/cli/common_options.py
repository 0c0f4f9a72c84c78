"""What several command groups share: the deployment a command works on, the options that
pick it, and how a producer command ends (its report and exit status)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from heritage.json_logging import is_terminal
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.broker_wait import (
    BROKER_TIMEOUT_VARIABLE,
    DEFAULT_BROKER_TIMEOUT_S,
    parse_broker_timeout,
)
from heritage.settings import Settings, load_settings

if TYPE_CHECKING:
    from heritage.producers.producer_report import ProducerReport

# What each leaf command sets as its `handler`: the parsed arguments in, the exit status out.
Handler = Callable[[argparse.Namespace], int]

NAMESPACE_HELP = (
    "work on an isolated deployment (own topics, tables under ns/NAME, database "
    "heritage_NAME) instead of the product's; for replays, backfills and tests"
)


def deployment_layout(settings: Settings, args: argparse.Namespace) -> LakehouseLayout:
    """The deployment a command works on: the product's, or an isolated namespace; with
    --topics-from, reading the topics of another namespace."""
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


def add_namespace_option(parser: argparse.ArgumentParser, help_text: str = NAMESPACE_HELP) -> None:
    parser.add_argument("--namespace", help=help_text)


def add_strict_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any record was rejected in this run (or published in this run but "
        "flagged invalid; unchanged records are not sent or checked again); default: exit 0, "
        "the rejections are only listed",
    )


def _broker_timeout(text: str) -> float:
    """An argparse type: seconds above 0 (argparse names the option in its error)."""
    try:
        return parse_broker_timeout(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_broker_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker-timeout",
        type=_broker_timeout,
        metavar="SECONDS",
        help="how long to wait for an unreachable Kafka broker (one status line per retry) "
        f"before exiting 2; a rerun sends only what Kafka had not confirmed (default: "
        f"{BROKER_TIMEOUT_VARIABLE}, else {DEFAULT_BROKER_TIMEOUT_S:.0f})",
    )


def producer_settings(args: argparse.Namespace) -> Settings:
    """The settings of a producing command, with --broker-timeout (when given) over
    HERITAGE_BROKER_TIMEOUT_S."""
    settings = load_settings()
    timeout = getattr(args, "broker_timeout", None)
    if timeout is None:
        return settings
    return replace(
        settings, environment={**settings.environment, BROKER_TIMEOUT_VARIABLE: str(timeout)}
    )


def progress_bars_shown() -> bool:
    """Progress bars only on a terminal: in a pipe or a file they are noise between log lines."""
    return is_terminal(sys.stderr)


def finish_produce(report: ProducerReport, args: argparse.Namespace) -> int:
    """Print each rejected record, then the summary line; exit 1 under --strict when anything
    was rejected (or published but flagged invalid), else 0."""
    for line in report.lines():
        print(line)
    return 1 if args.strict and report.has_rejections else 0
