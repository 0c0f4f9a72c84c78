-- PostgreSQL schema for analysts and the dashboard. Idempotent: applied by
-- `heritage services up` (and compose's init service) on every start.
-- Tables live in schema `heritage` (written by the pipeline's export only); analysts and the
-- dashboard read the documented views in schema `analytics` through a read-only role.

CREATE SCHEMA IF NOT EXISTS heritage;
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE IF NOT EXISTS heritage.objects (
    record_id          text PRIMARY KEY,
    source             text NOT NULL,
    title              text NOT NULL,
    titles             jsonb NOT NULL DEFAULT '{}'::jsonb,
    creators           text[] NOT NULL DEFAULT '{}',
    description        text,
    date_original      text,
    date_start         date,
    date_end           date,
    object_type        text NOT NULL,
    rights_uri         text NOT NULL,
    image_url          text,
    data_provider      text NOT NULL,
    provider           text,
    country            text,
    languages          text[] NOT NULL DEFAULT '{}',
    content_hash       text NOT NULL,
    source_updated_at  timestamptz,
    ingested_at        timestamptz NOT NULL,
    delta_version      bigint NOT NULL,
    exported_at        timestamptz NOT NULL DEFAULT now()
);
-- Columns added after the first release, for databases created before them.
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS canonical_id text;
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS comment_count integer NOT NULL DEFAULT 0;
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS annotation_count integer NOT NULL DEFAULT 0;

-- Full-text search over titles (every language), descriptions and creators. The 'simple'
-- configuration does no stemming, so it treats every language alike.
CREATE OR REPLACE FUNCTION heritage.search_text(title text, titles jsonb, description text,
                                                creators text[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT concat_ws(' ', title,
    (SELECT string_agg(value, ' ') FROM jsonb_each(titles) AS t(lang, vals),
                                        jsonb_array_elements_text(vals) AS value),
    description, array_to_string(creators, ' '))
$$;
-- Stored, not an expression index: a filter or recheck then reads the vector instead of
-- recomputing it per row (the explorer's p95 on 1M rows depends on it, docs/benchmarks.md).
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS search_document tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', heritage.search_text(title, titles, description,
                                                                  creators))) STORED;
DROP INDEX IF EXISTS heritage.objects_search_idx;
CREATE INDEX IF NOT EXISTS objects_search_document_idx ON heritage.objects
  USING gin (search_document);
CREATE INDEX IF NOT EXISTS objects_tags_idx ON heritage.objects USING gin (tags);
CREATE INDEX IF NOT EXISTS objects_canonical_idx ON heritage.objects (canonical_id);
CREATE INDEX IF NOT EXISTS objects_provider_idx ON heritage.objects (data_provider);
CREATE INDEX IF NOT EXISTS objects_type_idx ON heritage.objects (object_type);
CREATE INDEX IF NOT EXISTS objects_rights_idx ON heritage.objects (rights_uri);

-- The last Delta table version each export has applied; advanced in the same transaction
-- as the rows, so a crash between the two cannot double or lose an export.
CREATE TABLE IF NOT EXISTS heritage.export_watermarks (
    source_table   text PRIMARY KEY,
    delta_version  bigint NOT NULL,
    exported_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS heritage.annotations (
    annotation_id     text PRIMARY KEY,
    target_record_id  text NOT NULL,
    kind              text NOT NULL,
    body              text NOT NULL,
    user_name         text,
    created_at        timestamptz,
    ingested_at       timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_target_idx ON heritage.annotations (target_record_id);

CREATE TABLE IF NOT EXISTS heritage.rejections (
    dead_letter_id   text PRIMARY KEY,
    record_id        text,
    stage            text NOT NULL,
    reasons          text[] NOT NULL,
    payload          text,
    kafka_topic      text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    kafka_timestamp  timestamptz
);
CREATE INDEX IF NOT EXISTS rejections_stage_idx ON heritage.rejections (stage);

CREATE OR REPLACE VIEW analytics.objects AS
SELECT record_id, source, title, titles, creators, description, date_original, date_start,
       date_end, object_type, rights_uri, image_url, data_provider, provider, country,
       languages, source_updated_at, ingested_at, canonical_id, tags, comment_count,
       annotation_count, search_document
FROM heritage.objects;

COMMENT ON VIEW analytics.objects IS
  'One row per cleansed heritage record (latest version). record_id is stable and source-namespaced.';
COMMENT ON COLUMN analytics.objects.titles IS 'Titles by ISO 639 language code: {"en": ["..."], ...}';
COMMENT ON COLUMN analytics.objects.date_original IS 'The date as the source wrote it';
COMMENT ON COLUMN analytics.objects.date_start IS 'Earliest date the original allows (UTC)';
COMMENT ON COLUMN analytics.objects.rights_uri IS 'Canonical rightsstatements.org or creativecommons.org URI';
COMMENT ON COLUMN analytics.objects.canonical_id IS 'record_id of the duplicate group''s canonical record (itself when unique)';
COMMENT ON COLUMN analytics.objects.tags IS 'User tags attached to this record (and, for a canonical record, to its duplicates)';
COMMENT ON COLUMN analytics.objects.search_document IS 'Full-text search: WHERE search_document @@ websearch_to_tsquery(''simple'', ''...'')';

CREATE OR REPLACE VIEW analytics.annotations AS
SELECT a.annotation_id, a.target_record_id, o.canonical_id AS attached_to, a.kind, a.body,
       a.user_name, a.created_at, a.ingested_at
FROM heritage.annotations a
LEFT JOIN heritage.objects o ON o.record_id = a.target_record_id;
COMMENT ON VIEW analytics.annotations IS
  'User tags and comments. attached_to is the canonical record the annotation counts for (null while its record has not arrived).';

CREATE OR REPLACE VIEW analytics.duplicate_groups AS
SELECT canonical_id, count(*) AS members, array_agg(record_id ORDER BY record_id) AS record_ids,
       array_agg(DISTINCT data_provider) AS providers
FROM heritage.objects
GROUP BY canonical_id
HAVING count(*) > 1;
COMMENT ON VIEW analytics.duplicate_groups IS
  'Groups of records judged to be the same object (near-duplicates), one row per canonical record.';

CREATE OR REPLACE VIEW analytics.rejections AS
SELECT dead_letter_id, record_id, stage, reasons, payload, kafka_topic, kafka_partition,
       kafka_offset, kafka_timestamp
FROM heritage.rejections;
COMMENT ON VIEW analytics.rejections IS
  'Every input that could not be cleansed: the stage, every reason found, and the original message.';

-- ---------------------------------------------------------------------------------------
-- ML outputs. Written only by the export of the ml/ Delta tables.
-- ---------------------------------------------------------------------------------------
-- One row per record that has an image URL: where its image is, or why it is not there yet.
CREATE TABLE IF NOT EXISTS heritage.object_images (
    record_id        text PRIMARY KEY,
    image_url        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('stored', 'failed')),
    sha256           text,            -- of the original bytes; object key images/original/<sha256>
    thumbnail_key    text,            -- object key of the JPEG thumbnail in the bucket
    content_type     text,
    width            integer,
    height           integer,
    failure_reason   text,            -- null when stored
    attempts         integer NOT NULL,
    last_attempt_at  timestamptz NOT NULL
);
-- Near-duplicate pairs the detector found (record_id < other_record_id).
CREATE TABLE IF NOT EXISTS heritage.duplicate_pairs (
    record_id        text NOT NULL,
    other_record_id  text NOT NULL,
    hash_distance    integer,         -- smallest Hamming distance of pHash/dHash (bits of 64)
    cosine           real,            -- cosine similarity of the combined vectors
    score            real NOT NULL,   -- confidence in [0, 1]
    method           text NOT NULL,   -- 'hash' | 'embedding' | 'both' | 'curator'
    PRIMARY KEY (record_id, other_record_id),
    CHECK (record_id < other_record_id)
);
CREATE INDEX IF NOT EXISTS duplicate_pairs_other_idx ON heritage.duplicate_pairs (other_record_id);
-- Top-k similar objects per record by the combined vector, outside its own duplicate group.
CREATE TABLE IF NOT EXISTS heritage.similar_objects (
    record_id          text NOT NULL,
    rank               smallint NOT NULL,
    similar_record_id  text NOT NULL,
    score              real NOT NULL,
    PRIMARY KEY (record_id, rank)
);

-- ---------------------------------------------------------------------------------------
-- Curators' duplicate decisions (the dashboard's review page writes them; the ML job
-- reads them on every run). The latest decision (highest decision_id) per pair wins:
-- 'same' forces the pair into one group, 'different' keeps them apart.
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS heritage.duplicate_decisions (
    decision_id      bigserial PRIMARY KEY,
    record_id        text NOT NULL,
    other_record_id  text NOT NULL,
    decision         text NOT NULL CHECK (decision IN ('same', 'different')),
    decided_by       text NOT NULL,
    note             text,
    decided_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (record_id < other_record_id)
);
CREATE INDEX IF NOT EXISTS duplicate_decisions_pair_idx
  ON heritage.duplicate_decisions (record_id, other_record_id, decision_id DESC);

CREATE OR REPLACE VIEW analytics.object_images AS
SELECT record_id, image_url, status, sha256, thumbnail_key, content_type, width, height,
       failure_reason, attempts, last_attempt_at
FROM heritage.object_images;
COMMENT ON VIEW analytics.object_images IS
  'Per record: the stored image (sha256, thumbnail object key) or why fetching it failed (retried on later runs).';

CREATE OR REPLACE VIEW analytics.duplicate_pairs AS
SELECT record_id, other_record_id, hash_distance, cosine, score, method
FROM heritage.duplicate_pairs;
COMMENT ON VIEW analytics.duplicate_pairs IS
  'Near-duplicate pairs found by perceptual hashes and embeddings; groups are their connected components.';

CREATE OR REPLACE VIEW analytics.similar_objects AS
SELECT record_id, rank, similar_record_id, score FROM heritage.similar_objects;
COMMENT ON VIEW analytics.similar_objects IS
  'Top-k visually and textually similar records (combined vector), excluding the record''s own duplicate group.';

CREATE OR REPLACE VIEW analytics.duplicate_decisions AS
SELECT DISTINCT ON (record_id, other_record_id)
       record_id, other_record_id, decision, decided_by, note, decided_at, decision_id
FROM heritage.duplicate_decisions
ORDER BY record_id, other_record_id, decision_id DESC;
COMMENT ON VIEW analytics.duplicate_decisions IS
  'The standing curator decision per record pair (the latest one): same or different.';

-- ---------------------------------------------------------------------------------------
-- Dashboard: pipeline runs for the operators' page, indexes for the explorer.
-- ---------------------------------------------------------------------------------------
-- One row per stage per `run_stages` call. For the raw stage, kafka_offsets holds the next
-- offset to ingest per topic and partition ({"topic": {"0": 1234}}): lag = end - these.
CREATE TABLE IF NOT EXISTS heritage.pipeline_runs (
    run_id         bigserial PRIMARY KEY,
    stage          text NOT NULL,
    rows           bigint NOT NULL,
    seconds        real NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    kafka_offsets  jsonb
);
CREATE INDEX IF NOT EXISTS pipeline_runs_stage_idx
  ON heritage.pipeline_runs (stage, finished_at DESC);

CREATE OR REPLACE VIEW analytics.pipeline_runs AS
SELECT run_id, stage, rows, seconds, finished_at, kafka_offsets FROM heritage.pipeline_runs;
COMMENT ON VIEW analytics.pipeline_runs IS
  'One row per pipeline stage run: rows handled, seconds, and (raw) the Kafka offsets ingested up to.';

-- Explorer filters: date range, annotated records, languages facet.
CREATE INDEX IF NOT EXISTS objects_date_start_idx ON heritage.objects (date_start);
CREATE INDEX IF NOT EXISTS objects_languages_idx ON heritage.objects USING gin (languages);
-- "Has annotations" and "has duplicates" select a few percent of the rows: partial indexes
-- let the planner start from those rows instead of filtering the whole table.
CREATE INDEX IF NOT EXISTS objects_annotated_idx ON heritage.objects (record_id)
  WHERE annotation_count > 0;
CREATE INDEX IF NOT EXISTS objects_duplicate_members_idx ON heritage.objects (canonical_id)
  WHERE canonical_id <> record_id;
