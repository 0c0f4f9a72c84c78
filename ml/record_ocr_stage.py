"""The pipeline's ``ocr`` stage: the images of records of a read type (TEXT by default,
``HERITAGE_OCR_RECORD_TYPES``), as the ml stage stored them, read by OCR.

Per record to read (:func:`heritage.ml.record_ocr.records_to_read`) a worker process takes
the stored original from the object store and reads it (per-collection settings, the
deployment's field rules); the page texts and hOCR go next to the original
(``<images>/original/<sha256>.ocr/<settings>/page-0001.txt``), the record's OCR values to
ml/record_ocr (MERGE on record_id), whose change data feed curate reads to fill the OCR
columns of records whose source sent none. With nothing new since the last run (the cleansed
and image tables' versions and the settings, in a small state document), it reads nothing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from heritage.change_tracking import table_position
from heritage.delta_tables import ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.image_fetch import original_key
from heritage.ml.ml_state_store import read_state, write_state
from heritage.ml.record_ocr import FAILED, record_ocr_row, records_to_read
from heritage.object_store import object_store_client
from heritage.ocr.file_reading import (
    OcrConfig,
    field_rules_for,
    load_ocr_config,
    read_to_entry,
    reader_for,
)
from heritage.ocr.ocr_results import page_keys
from heritage.ocr.ocr_settings import OcrSettings
from heritage.settings import Settings
from heritage.stage_contract import StageContext, StageResult
from heritage.table_schemas import CLEANSED_RECORD_FIELDS, ML_RECORD_OCR, with_absent_columns

STAGE = "ocr"
STATE_NAME = "record_ocr"


def run(context: StageContext) -> StageResult:
    """The ``ocr`` stage's adapter."""
    config = context.config(load_ocr_config)
    if not config.enabled:
        return StageResult.idle(STAGE)
    spark, settings, layout = context.spark, context.settings, context.layout
    inputs = _inputs(spark, layout, config)
    if read_state(settings, layout, STATE_NAME) == inputs:
        return StageResult.idle(STAGE)
    if table_position(spark, layout.ml_images) < 0:
        return StageResult.idle(STAGE)  # no image stored yet: nothing to read
    ensure_delta_table(
        spark, layout.ml_record_ocr, ML_RECORD_OCR, change_data_feed=True, deletion_vectors=True
    )
    read, failed, flagged = read_records(spark, settings, layout, config)
    write_state(settings, layout, STATE_NAME, inputs)
    if not read:
        return StageResult.idle(STAGE)
    summary = f"{read:,} record images read ({failed:,} unreadable, {flagged:,} pages flagged)"
    return StageResult(STAGE, read, summary, figures={"read": read, "failed": failed})


def _inputs(spark: SparkSession, layout: LakehouseLayout, config: OcrConfig) -> str:
    """What a run depends on: the input tables' versions and the settings."""
    collections = config.collections
    settings = {
        "default": collections.default.digest(),
        **{name: s.digest() for name, s in sorted(collections.by_collection.items())},
    }
    return json.dumps(
        {
            "cleansed": table_position(spark, layout.cleansed_records),
            "images": table_position(spark, layout.ml_images),
            "types": list(config.record_types),
            "settings": settings,
            "fields": str(config.field_rules or ""),
        },
        sort_keys=True,
    )


def read_records(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, config: OcrConfig
) -> tuple[int, int, int]:
    """Read every record image due; (records read, unreadable, pages flagged)."""
    collections = config.collections
    cleansed = spark.read.format("delta").load(layout.cleansed_records)
    due = records_to_read(
        with_absent_columns(cleansed, CLEANSED_RECORD_FIELDS),
        spark.read.format("delta").load(layout.ml_images),
        spark.read.format("delta").load(layout.ml_record_ocr),
        config.record_types,
        {name: s.digest() for name, s in collections.by_collection.items()},
        collections.default.digest(),
    ).collect()
    if not due:
        return 0, 0, 0
    work = Path(tempfile.mkdtemp(prefix="heritage-record-ocr-"))
    pool = ProcessPoolExecutor(
        max_workers=config.workers, mp_context=multiprocessing.get_context("spawn")
    )
    rows: list[dict[str, Any]] = []
    try:
        futures = [
            pool.submit(
                _read_original,
                settings,
                original_key(layout, row["sha256"]),
                work / str(index),
                collections.for_collection(row["data_provider"]),
                config.field_rules,
                row["data_provider"],
            )
            for index, row in enumerate(due)
        ]
        client = object_store_client(settings)
        for row, future in zip(due, futures, strict=True):
            entry = future.result()
            _store_page_texts(client, settings, entry, original_key(layout, row["sha256"]))
            rows.append(
                record_ocr_row(
                    row["record_id"], row["sha256"], row["image_url"], entry, datetime.now(UTC)
                )
            )
    finally:
        pool.shutdown(cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
    _merge(spark, layout, rows)
    failed = sum(1 for row in rows if row["status"] == FAILED)
    flagged = sum(
        sum(1 for page in json.loads(row["ocr_pages"] or "[]") if page.get("flagged"))
        for row in rows
    )
    return len(rows), failed, flagged


def _read_original(
    settings: Settings,
    key: str,
    folder: Path,
    ocr: OcrSettings,
    rules: Path | None,
    provider: str | None,
) -> dict[str, Any]:
    """In a worker: the stored original's OCR entry (page files under ``folder``)."""
    folder.mkdir(parents=True)
    local = folder / hashlib.sha256(key.encode()).hexdigest()[:16]
    object_store_client(settings).fget_object(settings.bucket, key, str(local))
    try:
        return read_to_entry(
            local, folder / "pages", ocr, field_rules_for(rules, provider), reader_for(ocr)
        )
    finally:
        local.unlink(missing_ok=True)


def _store_page_texts(client: Any, settings: Settings, entry: dict[str, Any], base: str) -> None:
    """Upload each page's text and hOCR next to the original; keys replace local paths."""
    for page in entry["pages"]:
        text_key, hocr_key = page_keys(base, entry["settings"], page["page"])
        for local_name, key_name, key in (
            ("text_file", "text_key", text_key),
            ("hocr_file", "hocr_key", hocr_key),
        ):
            local = page.pop(local_name, None)
            if local:
                client.fput_object(settings.bucket, key, local)
                page[key_name] = key


def _merge(spark: SparkSession, layout: LakehouseLayout, rows: list[dict[str, Any]]) -> None:
    """Upsert the rows (one per record); a reading equal to the stored one writes nothing."""
    source = spark.createDataFrame(rows, ML_RECORD_OCR)
    (
        DeltaTable.forPath(spark, layout.ml_record_ocr)
        .alias("t")
        .merge(source.alias("s"), "t.record_id = s.record_id")
        .whenMatchedUpdateAll(
            condition="t.ocr_hash <> s.ocr_hash OR t.image_sha256 <> s.image_sha256"
            " OR t.settings <> s.settings"
        )
        .whenNotMatchedInsertAll()
        .execute()
    )
