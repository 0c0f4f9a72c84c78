"""Which records' images are read by OCR, and the rows of ml/record_ocr. Pure.

A record is read when its type is one of the configured ones (TEXT by default: a letter, a
finding aid, a printed page photographed), the ml stage stored its image, its source sent
no OCR text of its own, and the image (or the OCR settings) changed since it was last read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from heritage.ocr.ocr_results import record_ocr
from heritage.record_model import content_hash

READ, FAILED = "read", "failed"


def images_to_read(cleansed: DataFrame, images: DataFrame, types: Sequence[str]) -> DataFrame:
    """(record_id, data_provider, image_url, sha256) of every record whose image is read:
    its type is one of ``types``, its source sent no OCR of its own (as curate decides), and
    the ml stage stored its image."""
    wanted = cleansed.filter(
        F.col("object_type").isin(list(types))
        & F.col("ocr_text").isNull()
        & F.col("ocr_pages").isNull()
    ).select("record_id", "data_provider", "image_url")
    stored = images.filter(F.col("status") == "stored").select("record_id", "sha256")
    return wanted.join(stored, "record_id")


def records_to_read(
    eligible: DataFrame,
    done: DataFrame,
    digest_of: Mapping[str, str],
    default_digest: str,
) -> DataFrame:
    """The rows of ``eligible`` (:func:`images_to_read`) to read now, with ``settings``.

    ``digest_of`` maps a data provider to its OCR settings' digest (others: the default);
    a record read before with the same image and settings is not read again."""
    digests = F.create_map(*[F.lit(v) for pair in digest_of.items() for v in pair])
    candidates = eligible.withColumn(
        "settings",
        F.coalesce(F.try_element_at(digests, F.col("data_provider")), F.lit(default_digest))
        if digest_of
        else F.lit(default_digest),
    )
    previous = done.select(
        "record_id",
        F.col("image_sha256").alias("sha256"),
        F.col("settings"),
    )
    return candidates.join(previous, ["record_id", "sha256", "settings"], how="left_anti")


def record_ocr_row(
    record_id: str,
    sha256: str,
    image_url: str,
    entry: Mapping[str, Any],
    settings: str,
    read_at: datetime,
) -> dict[str, Any]:
    """The ml/record_ocr row of one record's reading (``entry``: the file's OCR entry;
    ``settings``: the digest naming the reading's settings and field rules)."""
    fields = record_ocr([(image_url, entry)])
    pages = fields.get("ocr_pages")
    found = fields.get("ocr_fields")
    values = {
        "ocr_text": fields.get("ocr_text"),
        "ocr_confidence": fields.get("ocr_confidence"),
        "ocr_pages": json.dumps(pages, ensure_ascii=False) if pages is not None else None,
        "ocr_fields": json.dumps(found, ensure_ascii=False) if found is not None else None,
    }
    return {
        "record_id": record_id,
        "image_sha256": sha256,
        "settings": settings,
        "status": FAILED if entry.get("failure") else READ,
        "failure_reason": entry.get("failure"),
        **values,
        "ocr_hash": content_hash(values),
        "read_at": read_at,
    }
