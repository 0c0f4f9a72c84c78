"""Pure transforms of the cleanse stage: parse, validate (every reason, not only the first)
and normalise Europeana-shaped records. ``Column -> Column`` and ``DataFrame -> DataFrame``
only; no I/O, so each is tested on tiny inline DataFrames."""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from heritage.record_model import OBJECT_TYPES
from heritage.rights import CANONICAL_RIGHTS_PATTERN, LEGACY_EUROPEANA_RIGHTS
from heritage.table_schemas import EUROPEANA_ITEM


def first_nonblank(values: Column) -> Column:
    """The first element of a string array that is not blank, trimmed; null if none."""
    trimmed = F.transform(values, lambda v: F.trim(v))
    return F.get(F.filter(trimmed, lambda v: v != ""), 0)


def canonical_rights(uri: Column) -> Column:
    """Column version of :func:`heritage.rights.canonical_rights_uri` (null if unknown)."""
    text = F.regexp_replace(F.trim(uri), r"(?i)^https?://(www\.)?", "http://")
    text = F.regexp_replace(text, r"[?#].*$", "")
    text = F.regexp_replace(text, r"/(deed|legalcode)(\.[a-zA-Z_-]+)?$", "/")
    text = F.regexp_replace(text, "rightsstatements.org/page/", "rightsstatements.org/vocab/")
    text = F.when(text.endswith("/"), text).otherwise(F.concat(text, F.lit("/")))
    legacy_map = F.create_map(*[F.lit(v) for v in chain(*LEGACY_EUROPEANA_RIGHTS.items())])
    legacy = F.try_element_at(legacy_map, F.regexp_replace(text, "^http://", "http://www."))
    candidate = F.coalesce(legacy, text)
    return F.when(candidate.rlike(CANONICAL_RIGHTS_PATTERN), candidate)


def _year_start(year: Column) -> Column:
    return F.to_date(F.try_to_timestamp(F.concat(year, F.lit("-01-01")), F.lit("yyyy-MM-dd")))


def _year_end(year: Column) -> Column:
    return F.to_date(F.try_to_timestamp(F.concat(year, F.lit("-12-31")), F.lit("yyyy-MM-dd")))


def date_bounds(original: Column) -> tuple[Column, Column]:
    """(start, end) dates in UTC for the date forms providers send; nulls when unparseable.

    Understood: ``1665``, ``c. 1665`` / ``ca 1665`` / ``circa 1665`` / ``um 1665`` (German) /
    ``vers 1665`` (French) / ``hacia 1665`` (Spanish), ``1660-1670``,
    ``1665-03-01``, ``01/03/1665`` (day first), and ISO timestamps with an offset.
    """
    text = F.trim(original)
    circa = F.regexp_extract(text, r"^(?i)(?:c\.?|ca\.?|circa|um|vers|hacia)\s*(\d{4})$", 1)
    range_from = F.regexp_extract(text, r"^(\d{4})\s*[-\u2013/]\s*(\d{4})$", 1)
    range_to = F.regexp_extract(text, r"^(\d{4})\s*[-\u2013/]\s*(\d{4})$", 2)
    iso_timestamp = F.to_date(F.try_to_timestamp(text))
    day = F.to_date(F.try_to_timestamp(text, F.lit("yyyy-MM-dd")))
    day_first = F.to_date(F.try_to_timestamp(text, F.lit("dd/MM/yyyy")))
    start = (
        F.when(text.rlike(r"^\d{4}$"), _year_start(text))
        .when(circa != "", _year_start(circa))
        .when(range_from != "", _year_start(range_from))
        .when(text.rlike(r"^\d{4}-\d{2}-\d{2}$"), day)
        .when(text.rlike(r"^\d{2}/\d{2}/\d{4}$"), day_first)
        .when(text.rlike(r"^\d{4}-\d{2}-\d{2}T"), iso_timestamp)
    )
    end = (
        F.when(text.rlike(r"^\d{4}$"), _year_end(text))
        .when(circa != "", _year_end(circa))
        .when(range_to != "", F.when(range_to >= range_from, _year_end(range_to)))
        .otherwise(start)
    )
    return start, F.when(start.isNotNull(), end)


def with_parsed_item(raw: DataFrame) -> DataFrame:
    """Add ``payload_is_object`` and ``item``: the common record (the envelope's ``record``
    when a producer mapped the payload, else the payload itself) parsed."""
    common = F.coalesce(F.col("record"), F.col("payload"))
    return raw.withColumn("payload_is_object", F.json_object_keys(common).isNotNull()).withColumn(
        "item",
        F.when(F.col("payload_is_object"), F.from_json(common, EUROPEANA_ITEM)),
    )


# A JSON text PostgreSQL's jsonb refuses: a NUL character or a lone surrogate, which
# Spark's JSON writer escapes as \u0000 and \uD800..\uDFFF.
_JSONB_UNSAFE = r"\\u(0000|[dD][89a-fA-F])"
# Reads the OCR text's JSON type, nothing else (a variant keeps the type a string field loses).
_OCR_TEXT_TYPE = "struct<ocr_text: variant>"


def ocr_text(text: Column, common: Column) -> Column:
    """The OCR text (``text``, as the string field read it) when the record's ``ocr_text``
    is a JSON string, without NUL characters (PostgreSQL's text cannot hold them); null for
    any other JSON value. ``common`` (the record's JSON text) is parsed again, for the type
    only, and only when there is a value."""
    kind = F.schema_of_variant(F.from_json(common, _OCR_TEXT_TYPE)["ocr_text"])
    return F.when(
        text.isNotNull() & F.coalesce(kind == "STRING", F.lit(False)),
        F.replace(text, F.lit("\x00"), F.lit("")),
    )


def ocr_confidence(text: Column) -> Column:
    """A confidence from the JSON text of a number (or of a string holding one); null
    unless it is within 0..100 (which also drops NaN and the infinities)."""
    number = text.try_cast("double")
    return F.when(number.between(0.0, 100.0), number)


def ocr_objects(elements: Column) -> Column:
    """The JSON text of a list of JSON objects, from its elements' JSON texts; null for a
    list holding anything else (null included), for any other value, and for text jsonb
    cannot hold. An element read is the JSON text of an object, or the content of a string:
    one that holds the text of an object passes for it."""
    objects = F.forall(elements, lambda e: F.json_object_keys(e).isNotNull())
    text = F.concat(F.lit("["), F.array_join(elements, ","), F.lit("]"))
    return F.when(F.coalesce(objects, F.lit(False)) & ~text.rlike(_JSONB_UNSAFE), text)


def with_ocr_fields(parsed: DataFrame) -> DataFrame:
    """Add the OCR columns; a value of the wrong shape is dropped, never a reason to reject."""
    item = F.col("item")
    common = F.coalesce(F.col("record"), F.col("payload"))
    return parsed.withColumns(
        {
            "ocr_text": ocr_text(item["ocr_text"], common),
            "ocr_confidence": ocr_confidence(item["ocr_confidence"]),
            "ocr_pages": ocr_objects(item["ocr_pages"]),
            "ocr_fields": ocr_objects(item["ocr_fields"]),
        }
    )


def with_normalised_fields(parsed: DataFrame) -> DataFrame:
    """Add the normalised columns of a cleansed record (null where the source has none)."""
    item = F.col("item")
    titles = item["dcTitleLangAware"]
    title_from_languages = first_nonblank(F.flatten(F.map_values(titles)))
    date_original = F.coalesce(first_nonblank(item["dcDate"]), first_nonblank(item["year"]))
    date_start, date_end = date_bounds(date_original)
    languages = F.transform(F.coalesce(item["language"], F.array()), lambda v: F.lower(F.trim(v)))
    return (
        parsed.withColumn("title", F.coalesce(first_nonblank(item["title"]), title_from_languages))
        .withColumn("titles", titles)
        .withColumn("creators", F.filter(F.transform(item["dcCreator"], F.trim), lambda v: v != ""))
        .withColumn("description", first_nonblank(item["dcDescription"]))
        .withColumn("date_original", date_original)
        .withColumn("date_start", date_start)
        .withColumn("date_end", date_end)
        .withColumn("object_type", F.upper(F.trim(item["type"])))
        .withColumn("rights_original", first_nonblank(item["rights"]))
        .withColumn("rights_uri", canonical_rights(F.col("rights_original")))
        .withColumn("image_url", first_nonblank(item["edmIsShownBy"]))
        .withColumn("data_provider", first_nonblank(item["dataProvider"]))
        .withColumn("provider", first_nonblank(item["provider"]))
        .withColumn("country", first_nonblank(item["country"]))
        .withColumn("languages", languages)
        .withColumn("source_updated_at", F.try_to_timestamp(item["timestamp_update"]))
        .transform(with_ocr_fields)
        .transform(with_embargo_fields)
    )


# An instant with its offset: a naive one would be read in the session's time zone.
_INSTANT_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"
EMBARGO_RULES = ("instant", "through_named_day", "through_named_month", "through_named_year")


def with_embargo_fields(parsed: DataFrame) -> DataFrame:
    """Add the embargo columns as the producer converted them (blank is none) and the
    creator's death year; with_rejection_reasons rejects an inconsistent embargo."""
    item = F.col("item")
    blank_to_null = lambda c: F.when(F.trim(c) != "", F.trim(c))  # noqa: E731
    end_text = blank_to_null(item["embargo_end_utc"])
    return parsed.withColumns(
        {
            "embargo_until": blank_to_null(item["embargo_until"]),
            "embargo_zone": blank_to_null(item["embargo_zone"]),
            "embargo_rule": blank_to_null(item["embargo_rule"]),
            "_embargo_end_text": end_text,
            "embargo_end_utc": F.when(
                end_text.rlike(_INSTANT_WITH_OFFSET), F.try_to_timestamp(end_text)
            ),
            "creator_death_year": F.when(
                F.trim(item["creator_death_year"]).rlike(r"^-?\d{1,4}$"),
                F.trim(item["creator_death_year"]).cast("int"),
            ),
        }
    )


def embargo_reasons() -> list[Column]:
    """The reasons an embargo the producer sent cannot be used."""
    quoted = lambda c: F.concat(F.lit("'"), F.coalesce(c, F.lit("")), F.lit("'"))  # noqa: E731
    end_text = F.col("_embargo_end_text")
    return [
        _reason(
            F.col("embargo_until").isNotNull() & end_text.isNull(),
            F.concat(
                F.lit("embargo_until "),
                quoted(F.col("embargo_until")),
                F.lit(" has no embargo_end_utc: producers convert it with heritage.embargo_time"),
            ),
        ),
        _reason(
            end_text.isNotNull() & F.col("embargo_end_utc").isNull(),
            F.concat(
                F.lit("embargo_end_utc "),
                quoted(end_text),
                F.lit(" is not an ISO 8601 instant with its offset (2031-01-01T00:00:00Z)"),
            ),
        ),
        _reason(
            end_text.isNotNull()
            & (F.col("embargo_rule").isNull() | ~F.col("embargo_rule").isin(*EMBARGO_RULES)),
            F.concat(
                F.lit("embargo_rule "),
                quoted(F.col("embargo_rule")),
                F.lit(f" is not one of {', '.join(EMBARGO_RULES)}"),
            ),
        ),
    ]


def _reason(condition: Column, message: Column | str) -> Column:
    return F.when(condition, message if isinstance(message, Column) else F.lit(message))


def with_rejection_reasons(normalised: DataFrame) -> DataFrame:
    """Add ``reasons``: every problem found, in a fixed order; empty means valid."""
    item = F.col("item")
    quoted = lambda c: F.concat(F.lit("'"), F.coalesce(c, F.lit("")), F.lit("'"))  # noqa: E731
    bad_language = F.get(F.filter(F.col("languages"), lambda v: ~v.rlike(r"^[a-z]{2,3}$")), 0)
    item_reasons = [
        _reason(
            F.col("record_id").contains(":unidentified:") | item["id"].isNull(),
            "record has no id: a Europeana item needs `id` of the form /DATASET/LOCAL_ID",
        ),
        _reason(F.col("title").isNull(), "no title in `title` or `dcTitleLangAware`"),
        _reason(F.col("data_provider").isNull(), "no `dataProvider`"),
        _reason(
            F.col("object_type").isNull() | ~F.col("object_type").isin(*OBJECT_TYPES),
            F.concat(
                F.lit("type "),
                quoted(item["type"]),
                F.lit(f" is not one of {', '.join(OBJECT_TYPES)}"),
            ),
        ),
        _reason(F.col("rights_original").isNull(), "no `rights` statement"),
        _reason(
            F.col("rights_original").isNotNull() & F.col("rights_uri").isNull(),
            F.concat(
                F.lit("rights "),
                quoted(F.col("rights_original")),
                F.lit(" is not a rightsstatements.org or creativecommons.org URI"),
            ),
        ),
        _reason(
            F.col("image_url").isNotNull() & ~F.col("image_url").rlike(r"^https?://[^\s/]+"),
            F.concat(
                F.lit("edmIsShownBy "), quoted(F.col("image_url")), F.lit(" is not an http(s) URL")
            ),
        ),
        _reason(
            F.col("date_original").isNotNull() & F.col("date_start").isNull(),
            F.concat(
                F.lit("date "), quoted(F.col("date_original")), F.lit(" is not a recognised date")
            ),
        ),
        _reason(
            bad_language.isNotNull(),
            F.concat(F.lit("language "), quoted(bad_language), F.lit(" is not an ISO 639 code")),
        ),
        *embargo_reasons(),
    ]
    identified = F.col("record_id").isNotNull() & ~F.col("record_id").contains(":unidentified:")
    reasons = (
        # A tombstone needs only the id of what it deletes.
        F.when(F.col("deleted") & identified, F.array().cast("array<string>"))
        .when(
            F.col("record_id").isNull(),
            F.array(F.lit("message is not a heritage envelope (JSON with record_id, payload)")),
        )
        .when(
            F.col("deleted"),
            F.array(F.lit("deletion without a usable record id")),
        )
        .when(
            ~F.col("payload_is_object"),
            F.array(F.lit("payload is not a JSON object (truncated, or not JSON)")),
        )
        .otherwise(F.array_compact(F.array(*item_reasons)))
    )
    return normalised.withColumn("reasons", reasons)


def validate_records(raw: DataFrame) -> DataFrame:
    """raw rows -> raw rows with normalised fields and ``reasons``."""
    return with_rejection_reasons(with_normalised_fields(with_parsed_item(raw)))


def filter_latest_versions(valid: DataFrame) -> DataFrame:
    """Keep one row per record_id: the newest by source update time, then arrival order."""
    newest_first = Window.partitionBy("record_id").orderBy(
        F.col("source_updated_at").desc_nulls_last(),
        F.col("ingested_at").desc(),
        F.col("kafka_partition").desc(),
        F.col("kafka_offset").desc(),
    )
    return (
        valid.withColumn("_rank", F.row_number().over(newest_first))
        .filter(F.col("_rank") == 1)
        .drop("_rank")
    )


CLEANSED_COLUMNS = (
    "record_id",
    "source",
    "title",
    "titles",
    "creators",
    "description",
    "date_original",
    "date_start",
    "date_end",
    "object_type",
    "rights_original",
    "rights_uri",
    "image_url",
    "data_provider",
    "provider",
    "country",
    "languages",
    "content_hash",
    "source_updated_at",
    "ingested_at",
    "kafka_partition",
    "kafka_offset",
    "ocr_text",
    "ocr_confidence",
    "ocr_pages",
    "ocr_fields",
    "embargo_until",
    "embargo_zone",
    "embargo_rule",
    "embargo_end_utc",
    "creator_death_year",
)


def select_cleansed_changes(validated: DataFrame) -> DataFrame:
    """The latest valid change per record_id, upsert or deletion (``deleted``), in the
    cleansed table's columns."""
    valid = validated.filter(F.size("reasons") == 0).withColumn(
        "source_updated_at",
        F.when(F.col("deleted"), F.coalesce("source_updated_at", "ingested_at")).otherwise(
            F.col("source_updated_at")
        ),
    )
    return filter_latest_versions(valid).select(*CLEANSED_COLUMNS, "deleted")


def select_cleansed(validated: DataFrame) -> DataFrame:
    """Valid rows in the cleansed table's schema (latest version per record_id)."""
    valid = validated.filter((F.size("reasons") == 0) & ~F.col("deleted"))
    return filter_latest_versions(valid).select(*CLEANSED_COLUMNS)


def select_dead_letters(validated: DataFrame, stage: str | Column) -> DataFrame:
    """Invalid rows in the dead-letter table's schema, with a deterministic id."""
    stage_column = F.lit(stage) if isinstance(stage, str) else stage
    return validated.filter(F.size("reasons") > 0).select(
        F.sha2(
            F.concat_ws(
                "|",
                stage_column,
                F.coalesce(F.col("record_id"), F.lit("")),
                F.coalesce(F.col("content_hash"), F.sha2(F.col("kafka_value"), 256)),
            ),
            256,
        ).alias("dead_letter_id"),
        "record_id",
        stage_column.alias("stage"),
        "reasons",
        "kafka_value",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        "content_hash",
    )


def with_producer_rejections(raw_dead_letters: DataFrame) -> DataFrame:
    """Messages producers sent to the dead-letter topic -> rows with ``reasons`` and a stage
    named after the producer (their payload carries ``reasons`` or ``reason``)."""
    reasons_schema = "struct<reasons: array<string>, reason: string>"
    parsed = F.when(
        F.json_object_keys(F.col("payload")).isNotNull(),
        F.from_json(F.col("payload"), reasons_schema),
    )
    reasons = F.coalesce(
        F.when(F.size(parsed["reasons"]) > 0, parsed["reasons"]),
        F.when(parsed["reason"].isNotNull(), F.array(parsed["reason"])),
        F.array(F.lit("rejected by the producer; no reason given")),
    )
    return raw_dead_letters.withColumn("reasons", reasons).withColumn(
        "stage", F.concat(F.lit("produce:"), F.coalesce(F.col("source"), F.lit("unknown")))
    )
