"""``heritage bench skeleton|europeana``: the benchmark scripts of a source checkout."""

from __future__ import annotations

import argparse
import runpy
import sys
from typing import Any

from heritage.services.processes import ServiceError
from heritage.settings import PROJECT_ROOT


def _run_bench_script(name: str, arguments: list[str]) -> int:
    script = PROJECT_ROOT / "bench" / f"{name}.py"
    if not script.is_file():
        raise ServiceError(f"benchmark script {script} not found: run from a source checkout")
    sys.argv = [str(script), *arguments]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _skeleton(args: argparse.Namespace) -> int:
    return _run_bench_script("skeleton", ["--records", str(args.records), "--seed", str(args.seed)])


def _europeana(args: argparse.Namespace) -> int:
    return _run_bench_script("europeana_replay", ["--records", str(args.records)])


def add_commands(commands: Any) -> None:
    """Add the ``bench`` group to the top-level subparsers."""
    bench = commands.add_parser(
        "bench", help="benchmarks (figures go to docs/benchmarks.md)", description="Benchmarks."
    )
    benchmarks = bench.add_subparsers(dest="name", required=True, metavar="BENCHMARK")
    skeleton = benchmarks.add_parser(
        "skeleton",
        help="records/s for each hop of the skeleton and end to end",
        description="Time produce -> raw -> cleanse -> export on N generated records in an "
        "isolated namespace (own topic, tables and database), and print records/s per hop.",
    )
    skeleton.add_argument("--records", type=int, default=10_000, help="records (default 10000)")
    skeleton.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    skeleton.set_defaults(handler=_skeleton)
    europeana = benchmarks.add_parser(
        "europeana",
        help="Europeana replay records/s (client + publish)",
        description="Harvest N synthetic records from a local Europeana replay server into a "
        "fresh topic and print records/s for a first run and a rerun.",
    )
    europeana.add_argument("--records", type=int, default=20_000, help="records (default 20000)")
    europeana.set_defaults(handler=_europeana)
