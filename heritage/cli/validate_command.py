"""``heritage validate``: source files against the record contract, publishing nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _validate(args: argparse.Namespace) -> int:
    # Every producer's mapping code (pydantic, lxml) loads only for this command.
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


def add_commands(commands: Any) -> None:
    """Add ``validate`` to the top-level subparsers."""
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
