"""Schemas of every Delta table and of the payloads the Spark stages parse.

One constant per table; the writers create tables from these and the transforms end with
a ``select`` that states the same columns.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from heritage.curated_columns import curated_schema

STRINGS = ArrayType(StringType())

# raw/records: every Kafka message as received, plus the envelope fields when it parses.
RAW_RECORDS = StructType(
    [
        StructField("kafka_key", StringType()),
        StructField("kafka_value", StringType()),
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("kafka_timestamp", TimestampType()),
        StructField("record_id", StringType()),
        StructField("source", StringType()),
        StructField("schema_version", IntegerType()),
        StructField("content_hash", StringType()),
        StructField("ingested_at", TimestampType()),
        StructField("correlation_id", StringType()),
        StructField("deleted", BooleanType()),
        StructField("record", StringType()),
        StructField("payload", StringType()),
    ]
)

# The envelope as JSON; `payload` and `record` are kept as their raw JSON text.
ENVELOPE = StructType(
    [
        StructField("record_id", StringType()),
        StructField("source", StringType()),
        StructField("schema_version", IntegerType()),
        StructField("content_hash", StringType()),
        StructField("ingested_at", StringType()),
        StructField("correlation_id", StringType()),
        StructField("deleted", BooleanType()),
        StructField("record", StringType()),
        StructField("payload", StringType()),
    ]
)

# The common record model (heritage.record_model.COMMON_RECORD_FIELDS): the fields of a
# Europeana Search API item the pipeline reads.
EUROPEANA_ITEM = StructType(
    [
        StructField("id", StringType()),
        StructField("type", StringType()),
        StructField("title", STRINGS),
        StructField("dcTitleLangAware", MapType(StringType(), STRINGS)),
        StructField("dcCreator", STRINGS),
        StructField("dcDescription", STRINGS),
        StructField("dcDate", STRINGS),
        StructField("year", STRINGS),
        StructField("rights", STRINGS),
        StructField("edmIsShownBy", STRINGS),
        StructField("dataProvider", STRINGS),
        StructField("provider", STRINGS),
        StructField("country", STRINGS),
        StructField("language", STRINGS),
        StructField("timestamp_update", StringType()),
        # The OCR fields decide no verdict; cleanse keeps a value of the right JSON type and
        # drops any other (record_validation.with_ocr_fields). A string field holds the JSON
        # text of whatever value is there; a list of strings holds each element's JSON text
        # and is null unless the value is a list.
        StructField("ocr_text", StringType()),
        StructField("ocr_confidence", StringType()),
        StructField("ocr_pages", STRINGS),
        StructField("ocr_fields", STRINGS),
        # The embargo as the producer converted it (heritage.embargo_time) and the creator's
        # death year (a string field holds a JSON number's text too).
        StructField("embargo_until", StringType()),
        StructField("embargo_zone", StringType()),
        StructField("embargo_rule", StringType()),
        StructField("embargo_end_utc", StringType()),
        StructField("creator_death_year", StringType()),
    ]
)

OCR_FIELDS = (
    StructField("ocr_text", StringType()),
    StructField("ocr_confidence", DoubleType()),
    StructField("ocr_pages", StringType()),
    StructField("ocr_fields", StringType()),
)

# The embargo the source sent, stored four ways (heritage.embargo_time.EmbargoEnd), and the
# creator's death year for the statutory term of the rights check.
EMBARGO_FIELDS = (
    StructField("embargo_until", StringType()),
    StructField("embargo_zone", StringType()),
    StructField("embargo_rule", StringType()),
    StructField("embargo_end_utc", TimestampType()),
    StructField("creator_death_year", IntegerType()),
)

# The columns of a valid record, as cleansed (record_validation.CLEANSED_COLUMNS).
CLEANSED_RECORD_FIELDS = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("source", StringType(), nullable=False),
        StructField("title", StringType(), nullable=False),
        StructField("titles", MapType(StringType(), STRINGS)),
        StructField("creators", STRINGS),
        StructField("description", StringType()),
        StructField("date_original", StringType()),
        StructField("date_start", DateType()),
        StructField("date_end", DateType()),
        StructField("object_type", StringType(), nullable=False),
        StructField("rights_original", StringType()),
        StructField("rights_uri", StringType(), nullable=False),
        StructField("image_url", StringType()),
        StructField("data_provider", StringType(), nullable=False),
        StructField("provider", StringType()),
        StructField("country", StringType()),
        StructField("languages", STRINGS),
        StructField("content_hash", StringType(), nullable=False),
        StructField("source_updated_at", TimestampType()),
        StructField("ingested_at", TimestampType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        # OCR: the text of all pages, its mean word confidence (0..100), and the JSON text
        # of the lists of pages and of fields found (heritage.record_model). Added after the
        # first release: tables created before gain them (delta_tables.add_missing_columns).
        *OCR_FIELDS,
        *EMBARGO_FIELDS,
    ]
)

# cleansed/records: one row per valid record_id, its latest version, with the cleanse
# micro-batch that last wrote it: curate finds what changed since its last run by this
# column (Delta's file statistics skip every file older than that), which spares the table
# a change data feed (a MERGE with one costs 1 to 2 s more at 1M rows, docs/benchmarks.md).
CLEANSED_RECORDS = StructType(
    [*CLEANSED_RECORD_FIELDS.fields, StructField("cleanse_batch", LongType(), nullable=False)]
)

# cleansed/record_deletes: append-only, the record ids of the tombstones each cleanse
# micro-batch applied (a deleted row leaves nothing in cleansed/records to find it by),
# with each tombstone's order key as cleansed/records keeps a row's: source_updated_at (for
# a tombstone already its source time or else its arrival time) and ingested_at. cleanse
# inserts no change older than a listed tombstone, so a late stale revision does not bring
# a deleted record back. Rows written before these columns existed hold null in both: their
# order is unknown, and they hold nothing back.
RECORD_DELETES = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("cleanse_batch", LongType(), nullable=False),
        StructField("source_updated_at", TimestampType()),
        StructField("ingested_at", TimestampType()),
    ]
)

# dlq/records: every input that could not be cleansed, with all its reasons.
DEAD_LETTERS = StructType(
    [
        # sha256 of stage, record_id and content: a redelivered message is not doubled.
        StructField("dead_letter_id", StringType(), nullable=False),
        StructField("record_id", StringType()),
        StructField("stage", StringType(), nullable=False),
        StructField("reasons", STRINGS, nullable=False),
        StructField("kafka_value", StringType()),
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("kafka_timestamp", TimestampType()),
        StructField("content_hash", StringType()),
    ]
)

# The annotation payload the annotation producers send (heritage.annotations).
ANNOTATION_PAYLOAD = StructType(
    [
        StructField("annotation_id", StringType()),
        StructField("target_record_id", StringType()),
        StructField("kind", StringType()),
        StructField("body", StringType()),
        StructField("user", StringType()),
        StructField("created", StringType()),
    ]
)

# cleansed/annotations: one row per annotation id (raw/annotations uses RAW_RECORDS).
CLEANSED_ANNOTATIONS = StructType(
    [
        StructField("annotation_id", StringType(), nullable=False),
        StructField("target_record_id", StringType(), nullable=False),
        StructField("kind", StringType(), nullable=False),
        StructField("body", StringType(), nullable=False),
        StructField("user", StringType()),
        StructField("created_at", TimestampType()),
        StructField("content_hash", StringType(), nullable=False),
        StructField("ingested_at", TimestampType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
    ]
)

# curated/canonical_ids: written by the embedding job; read by the curate stage.
CANONICAL_IDS = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("canonical_id", StringType(), nullable=False),
    ]
)

# curated/records: cleansed records joined with their canonical id and the annotations
# attached to them (annotations on any member of a duplicate group attach to its canonical).
# Its columns, with their PostgreSQL counterparts, are in heritage.curated_columns.
CURATED_RECORDS = curated_schema()

FLOATS = ArrayType(FloatType())

# ml/images: one row per record with an image URL (MERGE on record_id); a failed row is
# retried on later runs, a row whose record is gone is deleted.
ML_IMAGES = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("image_url", StringType(), nullable=False),
        # The record's content_hash when its image was fetched: a change fetches again.
        StructField("content_hash", StringType(), nullable=False),
        StructField("status", StringType(), nullable=False),  # 'stored' | 'failed'
        StructField("sha256", StringType()),  # of the original bytes
        StructField("thumbnail_key", StringType()),  # object key in the settings' bucket
        StructField("content_type", StringType()),
        StructField("width", IntegerType()),
        StructField("height", IntegerType()),
        StructField("failure_reason", StringType()),
        StructField("attempts", IntegerType(), nullable=False),  # on the current URL
        StructField("last_attempt_at", TimestampType(), nullable=False),
    ]
)

# ml/embeddings: the current embedding of each record (MERGE on record_id, written per
# batch); a record needs embedding when (content_hash, sha256, model) differ from its row.
ML_EMBEDDINGS = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("content_hash", StringType(), nullable=False),
        StructField("sha256", StringType(), nullable=False),
        StructField("model", StringType(), nullable=False),
        StructField("phash", LongType(), nullable=False),  # 64-bit hashes as signed bigint
        StructField("dhash", LongType(), nullable=False),
        StructField("image_vector", FLOATS, nullable=False),
        StructField("combined_vector", FLOATS, nullable=False),
        StructField("embedded_at", TimestampType(), nullable=False),
        # The hashes in all eight orientations (heritage.ml.image_hashes.OrientedHashes) and
        # the page signature of a page of text (null otherwise). Added after the first
        # release: a row without them is embedded again (delta_tables.add_missing_columns).
        StructField("phash_orientations", ArrayType(LongType())),
        StructField("dhash_orientations", ArrayType(LongType())),
        StructField("page_signature", FLOATS),
        # The 255-bit fine hash in all eight orientations (heritage.ml.image_hashes.
        # oriented_fine_hashes): 8 x 4 words, orientation-major, as signed bigint. Added after
        # the oriented hashes: a row without it is embedded again.
        StructField("fine_hashes", ArrayType(LongType())),
    ]
)

# ml/duplicate_pairs: near-duplicate pairs (record_id < other_record_id) of the latest run.
ML_DUPLICATE_PAIRS = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("other_record_id", StringType(), nullable=False),
        StructField("hash_distance", IntegerType()),
        StructField("cosine", FloatType()),
        StructField("score", FloatType(), nullable=False),
        StructField("method", StringType(), nullable=False),
    ]
)

# ml/similar_objects: top-k similar records outside the record's own duplicate group.
ML_SIMILAR_OBJECTS = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("rank", IntegerType(), nullable=False),
        StructField("similar_record_id", StringType(), nullable=False),
        StructField("score", FloatType(), nullable=False),
    ]
)

# audit/ingest_events: append-only, one row per step of a submission package's workflow
# (PREMIS event types). One Delta commit per workflow writes all of its events; the storing
# event of a stored version carries the version's manifest (its metadata and files, JSON), so
# that commit is the version's only point of visibility.
INGEST_EVENTS = StructType(
    [
        # uuid5 of workflow_id + step + file path: a rerun of the same commit writes the same ids.
        StructField("event_id", StringType(), nullable=False),
        # uuid4 per invocation of the workflow on one package.
        StructField("workflow_id", StringType(), nullable=False),
        StructField("package_id", StringType(), nullable=False),
        # The version stored (or found identical, or superseded); null when none is stored.
        StructField("package_version", IntegerType()),
        # The workflow step (unpack, bag_validation, ...) and its PREMIS event type.
        StructField("step", StringType(), nullable=False),
        StructField("event_type", StringType(), nullable=False),
        # Path of the file inside the package; null for package-level events.
        StructField("file_path", StringType()),
        StructField("outcome", StringType(), nullable=False),  # success | failure | warning
        StructField("detail", StringType()),
        StructField("tool", StringType()),
        StructField("tool_version", StringType()),
        StructField("started_at", TimestampType(), nullable=False),
        StructField("ended_at", TimestampType(), nullable=False),
        # The submitted file, folder or object key, as given.
        StructField("submission", StringType(), nullable=False),
        # JSON manifest of the version (metadata, files, diff) on the storing event only.
        StructField("manifest", StringType()),
    ]
)


# ml/record_ocr: the OCR of each record's image (records of the types read, whose source
# sent no text of its own); one row per record_id, with a change data feed for curate.
ML_RECORD_OCR = StructType(
    [
        StructField("record_id", StringType(), nullable=False),
        StructField("image_sha256", StringType(), nullable=False),
        # The OCR settings' digest (heritage.ocr.ocr_settings.OcrSettings.digest).
        StructField("settings", StringType(), nullable=False),
        StructField("status", StringType(), nullable=False),  # 'read' | 'failed'
        StructField("failure_reason", StringType()),
        StructField("ocr_text", StringType()),
        StructField("ocr_confidence", DoubleType()),
        StructField("ocr_pages", StringType()),  # JSON list, as in the common record
        StructField("ocr_fields", StringType()),  # JSON list, as in the common record
        # sha256 of the four OCR values: what curate compares.
        StructField("ocr_hash", StringType(), nullable=False),
        StructField("read_at", TimestampType(), nullable=False),
    ]
)

# The embargo and publication state of an object, as of its latest transition; the columns
# every event also carries (the whole state after it).
_EMBARGO_STATE_FIELDS = [
    StructField("object_id", StringType(), nullable=False),
    # Increments when a curator (or a later source end) starts a new embargo.
    StructField("episode", IntegerType(), nullable=False),
    StructField("state", StringType(), nullable=False),  # active|expired|pending_review|published
    # +1 per transition: the optimistic-concurrency token of the MERGE.
    StructField("state_version", LongType(), nullable=False),
    # The instant the restriction lapses: it holds on [start, end).
    StructField("embargo_end_utc", TimestampType(), nullable=False),
    StructField("end_input", StringType(), nullable=False),  # verbatim, "" when none
    StructField("end_input_zone", StringType(), nullable=False),  # IANA zone it was read in
    StructField("end_rule", StringType(), nullable=False),  # embargo_time.EndRule or "none"
    StructField("rights_uri", StringType()),
    StructField("data_provider", StringType()),
    StructField("creator_death_year", IntegerType()),
    StructField("review_reason", StringType()),
]

# governance/embargoes: one row per object (heritage.embargo_states.EmbargoState), with the
# outbox of the transitions that brought it to its version: the events are committed with
# the state they lead to, in one commit, and copied to governance/embargo_events after.
EMBARGOES = StructType(
    [
        *_EMBARGO_STATE_FIELDS,
        StructField("updated_at", TimestampType(), nullable=False),
        # JSON list of those events (embargo_rows.events_json); null when none are pending.
        StructField("outbox", StringType()),
        # What the source last said (publication_plan.inputs_json): a curated row written
        # again for another reason, or a source change that leaves the end alone, does not
        # undo a curator's re-embargo.
        StructField("source_inputs", StringType()),
    ]
)

# governance/embargo_events: append-only, one row per transition
# (heritage.embargo_states.EmbargoEvent); event_id = uuid5(object, episode, from_version,
# to_state), so a rerun of a transition writes the same id.
EMBARGO_EVENTS = StructType(
    [
        StructField("event_id", StringType(), nullable=False),
        StructField("from_state", StringType()),  # null for the registration
        StructField("to_state", StringType(), nullable=False),
        StructField("from_version", LongType(), nullable=False),
        StructField("to_version", LongType(), nullable=False),
        # The evaluation instant the run was given.
        StructField("as_of", TimestampType(), nullable=False),
        *[f for f in _EMBARGO_STATE_FIELDS if f.name not in ("state", "state_version")],
        StructField("actor", StringType(), nullable=False),  # source|evaluator|curator:<name>
        StructField("rights_check", StringType()),  # JSON of the rights check, if one ran
        StructField("decision_id", LongType()),  # the curator decision applied
        StructField("correlation_id", StringType(), nullable=False),
        StructField("created_at", TimestampType(), nullable=False),
    ]
)


def with_absent_columns(frame: DataFrame, schema: StructType) -> DataFrame:
    """``frame`` with a typed null for each column of ``schema`` it lacks: a version of a
    table written before a column was added reads as if the column were there."""
    present = set(frame.columns)
    absent: dict[str, DataType] = {
        f.name: f.dataType for f in schema.fields if f.name not in present
    }
    if not absent:
        return frame
    return frame.withColumns({name: F.lit(None).cast(kind) for name, kind in absent.items()})
