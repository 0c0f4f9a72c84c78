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
import logging
import multiprocessing
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import table_position
from heritage.delta_tables import ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.image_fetch import original_key
from heritage.ml.ml_state_store import read_state, write_state
from heritage.ml.record_ocr import FAILED, images_to_read, record_ocr_row, records_to_read
from heritage.object_store import object_store_client
from heritage.ocr.file_reading import (
    OcrConfig,
    field_rules_digest,
    field_rules_for,
    load_ocr_config,
    read_to_entry,
    reader_for,
    reading_digest,
)
from heritage.ocr.ocr_results import store_page_files
from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_reading import OcrSetupError
from heritage.settings import Settings
from heritage.stage_contract import StageContext, StageResult
from heritage.table_schemas import CLEANSED_RECORD_FIELDS, ML_RECORD_OCR, with_absent_columns

log = logging.getLogger(__name__)

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
    run = read_records(spark, settings, layout, config)
    if not run.retried:  # else the next run tries those records again
        write_state(settings, layout, STATE_NAME, inputs)
    if not run.read and not run.forgotten and not run.retried:
        return StageResult.idle(STAGE)
    summary = (
        f"{run.read:,} record images read ({run.failed:,} unreadable,"
        f" {run.flagged:,} pages flagged)"
    )
    if run.forgotten:
        summary += f", {run.forgotten:,} readings of records no longer read removed"
    if run.retried:
        summary += f", {len(run.retried):,} left for the next run (see the log)"
    return StageResult(STAGE, run.read, summary, figures=asdict(run))


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
            "fields": field_rules_digest(config.field_rules),
        },
        sort_keys=True,
    )


# Records read per batch: each batch is merged before the next is read, so memory and scratch
# space stay bounded and a stop keeps what was merged.
BATCH = 100


@dataclass
class OcrRun:
    read: int = 0
    failed: int = 0
    flagged: int = 0
    # Records whose reading raised (a missing original, a worker that died): left for the
    # next run, which the stage then does not skip.
    retried: list[str] = field(default_factory=list)
    forgotten: int = 0


def read_records(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, config: OcrConfig
) -> OcrRun:
    """Read every record image due, batch by batch; forget the readings of records no
    longer read (another image, another type, their own OCR now, gone)."""
    collections = config.collections
    cleansed = spark.read.format("delta").load(layout.cleansed_records)
    eligible = images_to_read(
        with_absent_columns(cleansed, CLEANSED_RECORD_FIELDS),
        spark.read.format("delta").load(layout.ml_images),
        config.record_types,
    ).persist()
    run = OcrRun()
    try:
        done = spark.read.format("delta").load(layout.ml_record_ocr)
        rules = field_rules_digest(config.field_rules)
        due = records_to_read(
            eligible,
            done,
            {name: reading_digest(s, rules) for name, s in collections.by_collection.items()},
            reading_digest(collections.default, rules),
        ).collect()
        if due:
            _read_due(spark, settings, layout, config, due, run)
        run.forgotten = _forget_stale(spark, layout, eligible)
    finally:
        eligible.unpersist()
    return run


def _read_due(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    config: OcrConfig,
    due: list[Row],
    run: OcrRun,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="heritage-record-ocr-"))
    client = object_store_client(settings)
    try:
        with ProcessPoolExecutor(
            max_workers=config.workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            for start in range(0, len(due), BATCH):
                batch = due[start : start + BATCH]
                futures = [
                    pool.submit(
                        _read_original,
                        settings,
                        original_key(layout, row["sha256"]),
                        work / str(start + index),
                        config.collections.for_collection(row["data_provider"]),
                        config.field_rules,
                        row["data_provider"],
                    )
                    for index, row in enumerate(batch)
                ]
                rows = []
                for row, future in zip(batch, futures, strict=True):
                    entry = _entry_or_none(future, row["record_id"], run)
                    if entry is None:
                        continue
                    store_page_files(
                        entry,
                        original_key(layout, row["sha256"]),
                        lambda local, key: client.fput_object(settings.bucket, key, str(local)),
                    )
                    rows.append(
                        record_ocr_row(
                            row["record_id"],
                            row["sha256"],
                            row["image_url"],
                            entry,
                            row["settings"],
                            datetime.now(UTC),
                        )
                    )
                if rows:
                    _merge(spark, layout, rows)
                _count(run, rows)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _entry_or_none(
    future: Future[dict[str, Any]], record_id: str, run: OcrRun
) -> dict[str, Any] | None:
    """The reading, or None (the record is retried) when reading it raised: a file that
    cannot be decoded is a reading with its reason, so what raises is the deployment's
    (a missing original, an object store or a worker gone), and may work next time."""
    try:
        return future.result()
    except OcrSetupError:
        raise
    except Exception as error:  # reported and retried, never lost
        log.warning(
            "record image not read; retried on the next run",
            extra={"record_id": record_id, "error": f"{type(error).__name__}: {error}"},
        )
        run.retried.append(record_id)
        return None


def _count(run: OcrRun, rows: list[dict[str, Any]]) -> None:
    run.read += len(rows)
    run.failed += sum(1 for row in rows if row["status"] == FAILED)
    run.flagged += sum(
        sum(1 for page in json.loads(row["ocr_pages"] or "[]") if page.get("flagged"))
        for row in rows
    )


def _forget_stale(spark: SparkSession, layout: LakehouseLayout, eligible: DataFrame) -> int:
    """Delete the readings whose record is no longer read with that image; curate then
    clears their OCR columns (the change data feed names them)."""
    done = spark.read.format("delta").load(layout.ml_record_ocr)
    current = eligible.select("record_id", F.col("sha256").alias("image_sha256"))
    stale = done.join(current, ["record_id", "image_sha256"], how="left_anti").select("record_id")
    count = stale.count()
    if count:
        (
            DeltaTable.forPath(spark, layout.ml_record_ocr)
            .alias("t")
            .merge(stale.alias("s"), "t.record_id = s.record_id")
            .whenMatchedDelete()
            .execute()
        )
    return count


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
