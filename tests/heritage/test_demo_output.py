"""The demo's terminal output: the stack on one line, a compact summary, the allow-list, and
the annotations it makes."""

from __future__ import annotations

import logging
from pathlib import Path

from heritage.cli import build_parser
from heritage.demo import (
    DEMO_ANNOTATIONS,
    AnnotationCounts,
    Check,
    StackReporter,
    annotation_line,
    demo_checks,
    package_lines,
    send_logs_to,
    summary_lines,
    with_fetch_allowed,
)
from heritage.lakehouse_summary import TableCounts
from heritage.ml.demo_summary import DuplicateComparison
from heritage.producers.packages.demo_packages import DemoPackages
from heritage.producers.packages.package_workflow import IngestReport
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.settings import load_settings


def test_a_warm_stack_is_one_line() -> None:
    shown: list[str] = []
    reporter = StackReporter(shown.append)
    for name in ("postgres", "minio", "kafka"):
        reporter.report(f"{name}: already running")
    reporter.report("init: bucket, topics, schema and roles in place")
    assert shown == []
    assert reporter.summary() == (
        "stack: postgres, minio, kafka already running; bucket, topics, schema and roles in place"
    )


def test_a_starting_service_is_shown_as_it_starts() -> None:
    shown: list[str] = []
    reporter = StackReporter(shown.append)
    reporter.report("generated credentials in /tmp/x/local.env")
    reporter.report("postgres: already running")
    reporter.report("kafka: starting")
    reporter.report("kafka: ready")
    reporter.report("init: done")
    assert shown == ["stack: starting kafka ..."]
    assert reporter.summary() == (
        "stack: postgres already running; kafka started; "
        "generated credentials in /tmp/x/local.env; done"
    )


def test_the_demo_image_server_joins_the_allow_list(tmp_path: Path) -> None:
    alone = with_fetch_allowed(load_settings({"HERITAGE_STATE_DIR": str(tmp_path)}), "h:1")
    assert alone.value("HERITAGE_IMAGE_FETCH_ALLOW") == "h:1"
    trusted = load_settings(
        {"HERITAGE_STATE_DIR": str(tmp_path), "HERITAGE_IMAGE_FETCH_ALLOW": "images.local:80"}
    )
    allowed = with_fetch_allowed(trusted, "127.0.0.1:18080")
    assert allowed.value("HERITAGE_IMAGE_FETCH_ALLOW") == "images.local:80,127.0.0.1:18080"
    assert trusted.value("HERITAGE_IMAGE_FETCH_ALLOW") == "images.local:80"


def test_the_summary_marks_each_mismatch() -> None:
    checks = [Check("raw messages", 1051, 1051), Check("dead letters", 49, 50)]
    duplicates = DuplicateComparison(
        groups_found=3, groups_expected=3, pairs_expected=4, pairs_recovered=4, wrongly_grouped=0
    )
    lines = summary_lines(checks, duplicates, {"raw": 2, "cleansed": 5})
    assert lines[1].split() == ["raw", "messages", "1051", "1051", "ok"]
    assert lines[2].split() == ["dead", "letters", "49", "50", "MISMATCH"]
    assert lines[-1].split() == ["Delta", "versions", "raw", "v2,", "cleansed", "v5"]
    assert len(lines) == 5


def test_logs_go_to_the_file_not_the_terminal(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        send_logs_to(tmp_path / "logs" / "demo.log")
        logging.getLogger("heritage.test").warning("to the file")
        for handler in root.handlers:
            handler.flush()
        assert "to the file" in (tmp_path / "logs" / "demo.log").read_text()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved
        logging.captureWarnings(False)


def test_the_demo_packages_add_their_records_to_the_expected_counts() -> None:
    manifest = generate_sample_collection(40, seed=3).manifest
    packages = DemoPackages(IngestReport(), 1, 1, None, stored_versions=2)
    counts = TableCounts(
        rows={"raw": 0, "cleansed": 0, "curated": 0, "dlq": 0}, versions={}, postgres_objects=0
    )
    expected = {
        c.name: c.expected
        for c in demo_checks(counts, {"stored": 0, "failed": 0}, manifest, packages)
    }
    valid = len(manifest.valid_record_ids)
    assert expected["raw messages"] == manifest.message_count + 2
    assert expected["cleansed records"] == expected["analytics.objects"] == valid + 1
    assert expected["dead letters"] == len(manifest.malformed) + 1
    assert expected["images stored"] == valid


def test_the_package_lines_say_when_test_signatures_were_written(tmp_path: Path) -> None:
    report = IngestReport()
    lines = package_lines(DemoPackages(report, 0, 0, tmp_path, already_taken=3))
    assert "test signatures" in lines[0] and str(tmp_path) in lines[0]
    assert lines[1] == "packages: 3 demo packages taken by an earlier run; not ingested again"


def test_the_demo_makes_annotations_by_default() -> None:
    args = build_parser().parse_args(["demo"])
    assert args.annotations == DEMO_ANNOTATIONS > 0


def test_the_annotation_line_says_where_they_show() -> None:
    line = annotation_line(AnnotationCounts(annotations=200, tags=141, annotated_records=180))
    assert line.split()[:6] == ["annotations", "200", "(141", "tags)", "on", "180"]
    assert '"has annotations" facet' in line
