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
-- OCR: the text of all pages, its mean word confidence (0..100), the pages read and the
-- fields found in the text (JSON lists of objects, as in the common record).
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS ocr_text text;
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS ocr_confidence double precision;
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS ocr_pages jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS ocr_fields jsonb NOT NULL DEFAULT '[]'::jsonb;
-- Whether the explorer shows the object: its embargo state is published. Triggers keep it
-- equal to heritage.embargoes (below), so a search filters on a column of the rows it reads
-- instead of looking every match up in another table.
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS published boolean NOT NULL DEFAULT false;
-- In a duplicate group of more than one record (kept by triggers; see has_duplicates below).
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS has_duplicates boolean NOT NULL
  DEFAULT false;

-- Full-text search over titles (every language), descriptions, creators and the OCR text.
-- The 'simple' configuration does no stemming, so it treats every language alike. Only the
-- first 100,000 characters of the OCR text count: a tsvector holds at most 1 MB, and a row
-- whose vector would not fit could not be written at all.
CREATE OR REPLACE FUNCTION heritage.search_text(title text, titles jsonb, description text,
                                                creators text[], ocr_text text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT concat_ws(' ', title,
    (SELECT string_agg(value, ' ') FROM jsonb_each(titles) AS t(lang, vals),
                                        jsonb_array_elements_text(vals) AS value),
    description, array_to_string(creators, ' '), left(ocr_text, 100000))
$$;
-- A generated column's expression cannot be altered: a search_document of an earlier release
-- (without the OCR text) is dropped, with the view that shows it, and added again below,
-- which computes it for every row once. A catalogue lookup when it is up to date.
DO $$
DECLARE
  dependents text;
BEGIN
  IF EXISTS (
    SELECT 1 FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = 'heritage.objects'::regclass AND a.attname = 'search_document'
      AND NOT a.attisdropped AND pg_get_expr(d.adbin, d.adrelid) NOT LIKE '%ocr_text%'
  ) THEN
    -- Views an analyst built on analytics.objects would stop the drop with a bare error.
    SELECT string_agg(DISTINCT v.oid::regclass::text, ', ') INTO dependents
    FROM pg_depend dep
    JOIN pg_rewrite r ON r.oid = dep.objid
    JOIN pg_class v ON v.oid = r.ev_class
    WHERE dep.refobjid = to_regclass('analytics.objects') AND v.oid <> dep.refobjid;
    IF dependents IS NOT NULL THEN
      RAISE EXCEPTION 'full-text search now covers OCR text, so analytics.objects must be created again, but these views depend on it: %', dependents
        USING HINT = 'Save and drop those views, run the export once, then create them again.';
    END IF;
    DROP VIEW IF EXISTS analytics.objects;
    ALTER TABLE heritage.objects DROP COLUMN search_document;
  END IF;
END
$$;
-- Stored, not an expression index: a filter or recheck then reads the vector instead of
-- recomputing it per row (the explorer's p95 on 1M rows depends on it, docs/benchmarks.md).
ALTER TABLE heritage.objects ADD COLUMN IF NOT EXISTS search_document tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', heritage.search_text(title, titles, description,
                                                                  creators, ocr_text))) STORED;
-- The earlier search_text, which nothing uses once search_document is migrated.
DROP FUNCTION IF EXISTS heritage.search_text(text, jsonb, text, text[]);
DROP INDEX IF EXISTS heritage.objects_search_idx;
-- One GIN index over the words and the facets the explorer filters on (btree_gin gives
-- plain columns a GIN operator class): a search narrowed to a provider, type, rights or
-- language is one index scan that intersects the posting lists, instead of bitmaps of 100,000s
-- of rows built from separate indexes and ANDed. An earlier release's index of the words
-- alone is replaced.
CREATE EXTENSION IF NOT EXISTS btree_gin;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_index
             WHERE indexrelid = to_regclass('heritage.objects_search_document_idx')
               AND indnatts = 1) THEN
    DROP INDEX heritage.objects_search_document_idx;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS objects_search_document_idx ON heritage.objects
  USING gin (search_document, data_provider, object_type, rights_uri, languages);
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
       annotation_count, search_document, ocr_text, ocr_confidence, published, has_duplicates
FROM heritage.objects;

COMMENT ON VIEW analytics.objects IS
  'One row per cleansed heritage record (latest version). record_id is stable and source-namespaced.';
COMMENT ON COLUMN analytics.objects.titles IS 'Titles by ISO 639 language code: {"en": ["..."], ...}';
COMMENT ON COLUMN analytics.objects.date_original IS 'The date as the source wrote it';
COMMENT ON COLUMN analytics.objects.date_start IS 'Earliest date the original allows (UTC)';
COMMENT ON COLUMN analytics.objects.rights_uri IS 'Canonical rightsstatements.org or creativecommons.org URI';
COMMENT ON COLUMN analytics.objects.canonical_id IS 'record_id of the duplicate group''s canonical record (itself when unique)';
COMMENT ON COLUMN analytics.objects.tags IS 'User tags attached to this record (and, for a canonical record, to its duplicates)';
COMMENT ON COLUMN analytics.objects.search_document IS 'Full-text search: WHERE search_document @@ websearch_to_tsquery(''simple'', ''...''); covers the OCR text (its first 100,000 characters)';
COMMENT ON COLUMN analytics.objects.ocr_text IS 'Text read from the object''s files by OCR, pages joined by a blank line; null when none was read';
COMMENT ON COLUMN analytics.objects.ocr_confidence IS 'Mean OCR word confidence, 0..100, over all words of all pages';
COMMENT ON COLUMN analytics.objects.published IS 'Its embargo state is published (analytics.embargoes): the explorer and the IIIF server show it';
COMMENT ON COLUMN analytics.objects.has_duplicates IS 'Its duplicate group (canonical_id) has more than one record: one of analytics.duplicate_groups';

-- OCR pages and fields: one row per element of the record's JSON lists. A value of the
-- wrong JSON type reads as null rather than failing every query of the view.
-- CASE, not AND: PostgreSQL may evaluate either side of an AND first, and a cast of a
-- jsonb string to numeric fails.
CREATE OR REPLACE FUNCTION heritage.jsonb_number(value jsonb)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN
    CASE WHEN abs(value::numeric) >= 1e300 THEN NULL
         WHEN abs(value::numeric) < 1e-300 THEN 0
         ELSE value::numeric::double precision END END
$$;
CREATE OR REPLACE FUNCTION heritage.jsonb_integer(value jsonb)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN
    CASE WHEN round(value::numeric) BETWEEN -2147483648 AND 2147483647
         THEN round(value::numeric)::integer END END
$$;
CREATE OR REPLACE FUNCTION heritage.jsonb_text(value jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END
$$;
-- The elements of a JSON list that are objects; none for anything but a list.
CREATE OR REPLACE FUNCTION heritage.jsonb_objects(list jsonb)
RETURNS SETOF jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT element
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(list) = 'array' THEN list
                                 ELSE '[]'::jsonb END) AS elements(element)
  WHERE jsonb_typeof(element) = 'object'
$$;

CREATE OR REPLACE VIEW analytics.ocr_pages AS
SELECT o.record_id, o.title, o.data_provider, o.source,
       heritage.jsonb_text(p -> 'file') AS file,
       heritage.jsonb_integer(p -> 'page') AS page,
       heritage.jsonb_number(p -> 'confidence') AS confidence,
       heritage.jsonb_text(p -> 'language') AS language,
       heritage.jsonb_integer(p -> 'rotation') AS rotation,
       heritage.jsonb_integer(p -> 'characters') AS characters,
       heritage.jsonb_integer(p -> 'words') AS words,
       coalesce(p -> 'flagged' = 'true'::jsonb, false) AS flagged,
       heritage.jsonb_text(p -> 'reason') AS reason,
       heritage.jsonb_text(p -> 'text_key') AS text_key,
       heritage.jsonb_text(p -> 'hocr_key') AS hocr_key,
       heritage.jsonb_number(p -> 'deskew') AS deskew
FROM heritage.objects o
CROSS JOIN LATERAL heritage.jsonb_objects(o.ocr_pages) AS pages(p);
COMMENT ON VIEW analytics.ocr_pages IS
  'One row per page read by OCR (per file of a record). A file that could not be read has one row with page 0, flagged, and the reason.';
COMMENT ON COLUMN analytics.ocr_pages.confidence IS 'Mean word confidence of the page, 0..100; null when it has no words';
COMMENT ON COLUMN analytics.ocr_pages.rotation IS 'Clockwise degrees the page was turned to read it: 0, 90, 180 or 270';
COMMENT ON COLUMN analytics.ocr_pages.flagged IS 'Whether the page needs review (its confidence is below the threshold, or the file could not be read): see reason. A blank page is not flagged.';
COMMENT ON COLUMN analytics.ocr_pages.text_key IS 'Object key of the page''s plain text in the bucket';
COMMENT ON COLUMN analytics.ocr_pages.hocr_key IS 'Object key of the page''s hOCR (words with their boxes) in the bucket';
COMMENT ON COLUMN analytics.ocr_pages.deskew IS 'Degrees (counter-clockwise) the page was askew and levelled before it was read';

CREATE OR REPLACE VIEW analytics.ocr_fields AS
SELECT o.record_id, o.title, o.data_provider,
       heritage.jsonb_text(f -> 'file') AS file,
       heritage.jsonb_integer(f -> 'page') AS page,
       heritage.jsonb_text(f -> 'kind') AS kind,
       heritage.jsonb_text(f -> 'value') AS value,
       heritage.jsonb_text(f -> 'normalised') AS normalised,
       heritage.jsonb_integer(f -> 'start') AS start_offset,
       heritage.jsonb_integer(f -> 'end') AS end_offset,
       heritage.jsonb_number(f -> 'confidence') AS confidence,
       heritage.jsonb_text(f -> 'rule') AS rule,
       heritage.jsonb_text(f -> 'uri') AS uri,
       CASE WHEN jsonb_typeof(f -> 'box') = 'array' THEN f -> 'box' END AS box,
       coalesce(f -> 'flagged' = 'true'::jsonb, false) AS flagged
FROM heritage.objects o
CROSS JOIN LATERAL heritage.jsonb_objects(o.ocr_fields) AS fields(f);
COMMENT ON VIEW analytics.ocr_fields IS
  'One row per field found in OCR text: dates, accession numbers, names, places, document types.';
COMMENT ON COLUMN analytics.ocr_fields.kind IS 'date, accession_number, name, place or document_type';
COMMENT ON COLUMN analytics.ocr_fields.value IS 'The text exactly as on the page (its characters start_offset..end_offset)';
COMMENT ON COLUMN analytics.ocr_fields.normalised IS 'date: ISO 8601 (1994-03-12, 1994-03 or 1994); name and place: the gazetteer''s preferred label; document_type: its key';
COMMENT ON COLUMN analytics.ocr_fields.start_offset IS 'Character offset of the value in the page''s text';
COMMENT ON COLUMN analytics.ocr_fields.confidence IS 'Confidence in the field, 0..1';
COMMENT ON COLUMN analytics.ocr_fields.uri IS 'The gazetteer URI of a name or place';
COMMENT ON COLUMN analytics.ocr_fields.box IS 'Where it is on the page: [left, top, width, height] in pixels';

CREATE OR REPLACE VIEW analytics.ocr_review AS
SELECT record_id, title, data_provider, source, file, page, confidence, language, rotation,
       characters, words, flagged, reason, text_key, hocr_key
FROM analytics.ocr_pages
WHERE flagged
ORDER BY confidence ASC NULLS FIRST, record_id, file, page;
COMMENT ON VIEW analytics.ocr_review IS
  'The OCR pages flagged for review (low confidence, blank, unreadable), lowest confidence first (none first).';

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
    decision         text NOT NULL CHECK (decision IN ('same', 'different')),  -- 'undone': below
    decided_by       text NOT NULL,
    note             text,
    decided_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (record_id < other_record_id)
);
CREATE INDEX IF NOT EXISTS duplicate_decisions_pair_idx
  ON heritage.duplicate_decisions (record_id, other_record_id, decision_id DESC);
-- Undo keeps history: an 'undone' row names the decision it takes back (undoes); the undone
-- decision stays, and the pair's standing decision is again the latest one not undone.
ALTER TABLE heritage.duplicate_decisions
  ADD COLUMN IF NOT EXISTS undoes bigint REFERENCES heritage.duplicate_decisions (decision_id);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conrelid = 'heritage.duplicate_decisions'::regclass
                   AND conname = 'duplicate_decisions_undo_check') THEN
    ALTER TABLE heritage.duplicate_decisions
      DROP CONSTRAINT IF EXISTS duplicate_decisions_decision_check;
    ALTER TABLE heritage.duplicate_decisions ADD CONSTRAINT duplicate_decisions_undo_check
      CHECK ((decision IN ('same', 'different') AND undoes IS NULL)
             OR (decision = 'undone' AND undoes IS NOT NULL));
  END IF;
END $$;
-- A decision is undone at most once (two curators pressing Undo together store one undo).
CREATE UNIQUE INDEX IF NOT EXISTS duplicate_decisions_undoes_idx
  ON heritage.duplicate_decisions (undoes) WHERE undoes IS NOT NULL;
-- The verdicts still in effect: 'same' and 'different' rows that no 'undone' row names.
-- The ML job reads these (the latest per pair wins), never the undone ones.
CREATE OR REPLACE VIEW heritage.effective_duplicate_decisions AS
SELECT d.decision_id, d.record_id, d.other_record_id, d.decision, d.decided_by, d.note,
       d.decided_at
FROM heritage.duplicate_decisions d
WHERE d.decision IN ('same', 'different')
  AND NOT EXISTS (SELECT 1 FROM heritage.duplicate_decisions u WHERE u.undoes = d.decision_id);

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
FROM heritage.effective_duplicate_decisions
ORDER BY record_id, other_record_id, decision_id DESC;
COMMENT ON VIEW analytics.duplicate_decisions IS
  'The standing curator decision per record pair (the latest one not undone): same or different.';

CREATE OR REPLACE VIEW analytics.duplicate_decision_history AS
SELECT d.decision_id, d.record_id, d.other_record_id, d.decision, d.decided_by, d.note,
       d.decided_at, d.undoes, u.decision_id AS undone_by
FROM heritage.duplicate_decisions d
LEFT JOIN heritage.duplicate_decisions u ON u.undoes = d.decision_id;
COMMENT ON VIEW analytics.duplicate_decision_history IS
  'Every curator duplicate decision as made: same, different, or undone (undoes names the decision taken back; undone_by the undo of this one).';

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
-- has_duplicates: the record's group (its canonical_id) has more than one member, as in
-- analytics.duplicate_groups. A flag on the row, kept by the triggers below, so the explorer
-- ANDs a bitmap of the grouped records with its other filters instead of joining every match
-- to the groups.
CREATE INDEX IF NOT EXISTS objects_has_duplicates_idx ON heritage.objects (record_id)
  WHERE has_duplicates;
DROP INDEX IF EXISTS heritage.objects_duplicate_member_ids_idx;
DROP STATISTICS IF EXISTS heritage.objects_duplicate_member_stats;
-- After each statement that writes objects, the groups its rows left or joined are counted
-- again (one UPDATE, from the statement's transition tables). The triggers' own UPDATE, and
-- the published flag's, change no group: they stop at pg_trigger_depth() > 1.
CREATE OR REPLACE FUNCTION heritage.objects_regroup(changed text[]) RETURNS void
LANGUAGE sql AS $$
  WITH sizes AS (
    SELECT o.canonical_id, count(*) > 1 AS grouped FROM heritage.objects o
    WHERE o.canonical_id = ANY(changed) GROUP BY o.canonical_id)
  UPDATE heritage.objects o SET has_duplicates = s.grouped FROM sizes s
  WHERE o.canonical_id = s.canonical_id AND o.has_duplicates IS DISTINCT FROM s.grouped
$$;
CREATE OR REPLACE FUNCTION heritage.objects_inserted_regroup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM heritage.objects_regroup(ARRAY(
    SELECT DISTINCT canonical_id FROM inserted_objects WHERE canonical_id IS NOT NULL));
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION heritage.objects_updated_regroup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM heritage.objects_regroup(ARRAY(
    SELECT n.canonical_id FROM updated_objects n WHERE n.canonical_id IS NOT NULL
    UNION SELECT o.canonical_id FROM previous_objects o WHERE o.canonical_id IS NOT NULL));
  UPDATE heritage.objects o SET has_duplicates = false FROM updated_objects n
  WHERE o.record_id = n.record_id AND o.canonical_id IS NULL AND o.has_duplicates;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION heritage.objects_deleted_regroup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM heritage.objects_regroup(ARRAY(
    SELECT DISTINCT canonical_id FROM deleted_objects WHERE canonical_id IS NOT NULL));
  RETURN NULL;
END $$;
DO $$
BEGIN
  -- The first setup with these triggers flags the groups already there.
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'objects_inserted_regroup'
                 AND tgrelid = 'heritage.objects'::regclass) THEN
    UPDATE heritage.objects o SET has_duplicates = true
    WHERE o.canonical_id IN (SELECT canonical_id FROM heritage.objects
                             GROUP BY canonical_id HAVING count(*) > 1)
      AND NOT o.has_duplicates;
  END IF;
END $$;
CREATE OR REPLACE TRIGGER objects_inserted_regroup AFTER INSERT ON heritage.objects
  REFERENCING NEW TABLE AS inserted_objects
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_inserted_regroup();
CREATE OR REPLACE TRIGGER objects_updated_regroup AFTER UPDATE ON heritage.objects
  REFERENCING OLD TABLE AS previous_objects NEW TABLE AS updated_objects
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_updated_regroup();
CREATE OR REPLACE TRIGGER objects_deleted_regroup AFTER DELETE ON heritage.objects
  REFERENCING OLD TABLE AS deleted_objects
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_deleted_regroup();
-- Explorer sort orders: a page of a broad search walks the order's index and stops after a
-- few hundred rows instead of sorting every match (record_id breaks ties, as the page does).
CREATE INDEX IF NOT EXISTS objects_title_order_idx ON heritage.objects (title, record_id);
CREATE INDEX IF NOT EXISTS objects_provider_order_idx
  ON heritage.objects (data_provider, title, record_id);
CREATE INDEX IF NOT EXISTS objects_date_order_idx ON heritage.objects (date_start, record_id);
CREATE INDEX IF NOT EXISTS objects_date_desc_order_idx
  ON heritage.objects (date_start DESC NULLS LAST, record_id DESC);
-- The explorer's estimate of a broad search's matches counts them in a uniform sample of the
-- records, picked by this hash: the sample's bitmap is ANDed with the search's.
CREATE INDEX IF NOT EXISTS objects_sample_idx ON heritage.objects ((hashtext(record_id) & 1023));

-- ---------------------------------------------------------------------------------------
-- Submission packages. Written only by the export of audit/ingest_events (append-only: every
-- row is inserted once and never changed; a replayed export inserts nothing twice).
-- ---------------------------------------------------------------------------------------
-- The text as jsonb, or null when it is not valid JSON: one malformed manifest must not stop
-- every later export (its event is still exported, with the text as written).
CREATE OR REPLACE FUNCTION heritage.jsonb_or_null(document text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN document::jsonb;
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END
$$;

-- Every step of every package workflow (one row per step, per file for per-file steps).
CREATE TABLE IF NOT EXISTS heritage.ingest_events (
    event_id         text PRIMARY KEY,
    workflow_id      text NOT NULL,
    package_id       text NOT NULL,
    package_version  integer,
    step             text NOT NULL,
    event_type       text NOT NULL,   -- PREMIS eventType
    file_path        text,
    outcome          text NOT NULL,   -- success | failure | warning
    detail           text,
    tool             text,
    tool_version     text,
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz NOT NULL,
    submission       text NOT NULL,
    manifest         text             -- the storing event's JSON manifest, as written
);
CREATE INDEX IF NOT EXISTS ingest_events_workflow_idx ON heritage.ingest_events (workflow_id);
CREATE INDEX IF NOT EXISTS ingest_events_package_idx ON heritage.ingest_events (package_id);

-- One row per stored package version, from its storing event's manifest.
CREATE TABLE IF NOT EXISTS heritage.packages (
    package_id   text NOT NULL,
    version      integer NOT NULL,
    workflow_id  text NOT NULL,
    record_id    text,
    title        text,             -- the first title of the metadata
    fingerprint  text NOT NULL,    -- sha256 of the sorted (path, sha256) list
    submission   text,
    file_count   integer NOT NULL,
    total_bytes  bigint NOT NULL,
    stored_at    timestamptz NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    diff         jsonb,            -- null for version 1
    PRIMARY KEY (package_id, version)
);

-- One row per file of a stored package version.
CREATE TABLE IF NOT EXISTS heritage.package_files (
    package_id          text NOT NULL,
    version             integer NOT NULL,
    path                text NOT NULL,
    original_path       text,
    sha256              text NOT NULL,
    size                bigint NOT NULL,
    blob_key            text,
    container           boolean NOT NULL DEFAULT false,
    puid                text,
    format_name         text,
    mime                text,
    checksum_status     text,
    supplied_checksums  jsonb,
    virus_verdict       text,
    virus_signature     text,
    PRIMARY KEY (package_id, version, path)
);
CREATE INDEX IF NOT EXISTS package_files_sha256_idx ON heritage.package_files (sha256);

CREATE OR REPLACE VIEW analytics.ingest_events AS
SELECT event_id, workflow_id, package_id, package_version, step, event_type, file_path,
       outcome, detail, tool, tool_version, started_at, ended_at, submission, manifest
FROM heritage.ingest_events;
COMMENT ON VIEW analytics.ingest_events IS
  'Every step of every submission-package workflow (PREMIS events): one row per step, and per file for per-file steps.';
COMMENT ON COLUMN analytics.ingest_events.step IS 'unpack, filename_change, bag_validation, mets_parsing, resubmission_check, digest, fixity, format, virus_scan, ocr (one event per page, file_path FILE#page=N), store or quarantine';
COMMENT ON COLUMN analytics.ingest_events.package_version IS 'The version stored (or found identical); null when none';
COMMENT ON COLUMN analytics.ingest_events.manifest IS 'JSON manifest of the version (metadata, files, diff), on the storing event only';

-- One row per workflow: how it ended. A workflow commits all of its events at once.
CREATE OR REPLACE VIEW analytics.package_workflows AS
SELECT workflow_id,
       max(package_id) AS package_id,
       max(submission) AS submission,
       CASE WHEN bool_or(step = 'quarantine') THEN 'quarantined'
            WHEN bool_or(step = 'store' AND outcome = 'success') THEN 'stored'
            WHEN bool_or(step = 'resubmission_check' AND detail LIKE 'duplicate%') THEN 'duplicate'
            ELSE 'incomplete' END AS status,
       max(package_version) AS package_version,
       (array_agg(detail ORDER BY ended_at DESC) FILTER (WHERE step = 'quarantine'))[1]
         AS quarantine_reason,
       array_agg(DISTINCT step) FILTER (WHERE outcome = 'failure' AND step <> 'quarantine')
         AS failed_steps,
       count(*) AS events,
       count(*) FILTER (WHERE outcome = 'failure') AS failures,
       count(*) FILTER (WHERE outcome = 'warning') AS warnings,
       min(started_at) AS started_at,
       max(ended_at) AS ended_at
FROM heritage.ingest_events
GROUP BY workflow_id;
COMMENT ON VIEW analytics.package_workflows IS
  'One row per package workflow (one submission processed once): stored, duplicate (identical to a stored version), quarantined or incomplete.';
COMMENT ON COLUMN analytics.package_workflows.package_version IS 'The version stored, or the stored version found identical (duplicate)';

CREATE OR REPLACE VIEW analytics.packages AS
WITH latest_workflow AS (
  SELECT DISTINCT ON (package_id) package_id, workflow_id, status
  FROM analytics.package_workflows
  ORDER BY package_id, ended_at DESC, workflow_id
)
SELECT p.package_id, p.version,
       p.version = max(p.version) OVER (PARTITION BY p.package_id) AS is_latest,
       w.status, p.title, p.record_id, p.submission, p.workflow_id, p.fingerprint,
       p.file_count, p.total_bytes, p.stored_at, p.metadata, p.diff,
       w.workflow_id AS latest_workflow_id
FROM heritage.packages p
LEFT JOIN latest_workflow w ON w.package_id = p.package_id;
COMMENT ON VIEW analytics.packages IS
  'One row per stored package version. status (stored, duplicate, quarantined; incomplete for a workflow that recorded none of these) is the package''s: how its latest workflow ended.';
COMMENT ON COLUMN analytics.packages.is_latest IS 'Whether this is the newest stored version of the package';
COMMENT ON COLUMN analytics.packages.metadata IS 'title, identifiers, names, dates, languages, rights (arrays), metadata_source (mets, bag-info or none), objid';
COMMENT ON COLUMN analytics.packages.diff IS 'Against the previous version: {"added", "removed", "changed", "metadata_changed"}; null for version 1';
COMMENT ON COLUMN analytics.packages.fingerprint IS 'sha256 of the sorted (path, sha256) list: equal fingerprints, equal content';

CREATE OR REPLACE VIEW analytics.package_files AS
SELECT f.package_id, f.version, f.version = p.latest AS is_latest, f.path, f.original_path,
       f.sha256, f.size, f.blob_key, f.container, f.puid, f.format_name, f.mime,
       f.checksum_status, f.supplied_checksums, f.virus_verdict, f.virus_signature
FROM heritage.package_files f
JOIN (SELECT package_id, max(version) AS latest FROM heritage.packages GROUP BY package_id) p
  ON p.package_id = f.package_id;
COMMENT ON VIEW analytics.package_files IS
  'One row per file of a stored package version: its format (PRONOM PUID), checksum status and virus verdict.';
COMMENT ON COLUMN analytics.package_files.blob_key IS 'Object key of the content in the bucket (content-addressed by sha256)';
COMMENT ON COLUMN analytics.package_files.checksum_status IS 'verified (a supplied checksum matched), not_supplied or unsupported_algorithm';
COMMENT ON COLUMN analytics.package_files.virus_verdict IS 'clean, or over_limit (too large to scan)';

CREATE OR REPLACE VIEW analytics.package_quarantine AS
SELECT workflow_id, package_id, submission, quarantine_reason AS reason, failed_steps,
       ended_at AS quarantined_at, 'quarantine/' || workflow_id || '/' AS quarantine_folder
FROM analytics.package_workflows
WHERE status = 'quarantined';
COMMENT ON VIEW analytics.package_quarantine IS
  'Workflows that ended in quarantine, with the reason. The package and reason.json are kept under quarantine_folder in the package store (packages/ in the bucket).';

-- ---------------------------------------------------------------------------------------
-- Embargoes and publication. heritage.embargoes (one row per object, its current state) and
-- heritage.publication_events (append-only, every transition with the whole state after it)
-- are written by the export of governance/embargoes and governance/embargo_events; the
-- publication stage also writes the states it commits at once (an older state_version never
-- overwrites a newer one), so an object leaves public view with its commit.
-- heritage.publication_decisions is written by curators on the dashboard's publication page;
-- the publication stage reads the decisions after the last one it consumed and applies each
-- made on the object's current state_version at its next evaluation.
-- States: active -> expired -> pending_review -> published, or back to active (re-embargo,
-- a new episode). An embargo holds on [start, embargo_end_utc): it has ended at an instant
-- as_of exactly when as_of >= embargo_end_utc (heritage.embargo_time.is_expired).
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS heritage.embargoes (
    object_id           text PRIMARY KEY,  -- heritage.objects.record_id
    episode             integer NOT NULL,  -- 1, and +1 per re-embargo
    state               text NOT NULL
                        CHECK (state IN ('active', 'expired', 'pending_review', 'published')),
    state_version       bigint NOT NULL,   -- +1 per transition (optimistic concurrency)
    embargo_end_utc     timestamptz NOT NULL,  -- 1970-01-01 00:00 UTC when the source sent none
    end_input           text NOT NULL,     -- as the source wrote it; '' when none
    end_input_zone      text NOT NULL,     -- IANA zone it was read in
    end_rule            text NOT NULL,     -- instant | through_named_day | _month | _year | none
    rights_uri          text,
    data_provider       text,
    creator_death_year  integer,
    review_reason       text,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS embargoes_state_idx ON heritage.embargoes (state);
-- "Is it published?" for every listed or counted object as an index-only probe.
CREATE INDEX IF NOT EXISTS embargoes_published_idx ON heritage.embargoes (object_id)
  WHERE state = 'published';

-- heritage.objects.published follows the embargo state: set when an object row is inserted,
-- and changed with every embargo row written or removed (one UPDATE per statement, from its
-- transition table). An upsert leaves it alone: the export never sets it.
CREATE OR REPLACE FUNCTION heritage.object_published_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.published := EXISTS (SELECT 1 FROM heritage.embargoes e
                           WHERE e.object_id = NEW.record_id AND e.state = 'published');
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION heritage.objects_published_from_embargoes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE heritage.objects o SET published = (c.state = 'published')
  FROM changed_embargoes c
  WHERE o.record_id = c.object_id AND o.published IS DISTINCT FROM (c.state = 'published');
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION heritage.objects_unpublished_with_embargoes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE heritage.objects o SET published = false
  FROM removed_embargoes r WHERE o.record_id = r.object_id AND o.published;
  RETURN NULL;
END $$;
DO $$
BEGIN
  -- The first setup with these triggers derives the flag of the objects already there.
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'objects_published_on_insert'
                 AND tgrelid = 'heritage.objects'::regclass) THEN
    -- Embargo writes wait until the triggers below are committed (and this waits for those
    -- under way): a write between this scan and the triggers would go unflagged for good.
    LOCK TABLE heritage.embargoes IN SHARE ROW EXCLUSIVE MODE;
    UPDATE heritage.objects o SET published = true FROM heritage.embargoes e
    WHERE e.object_id = o.record_id AND e.state = 'published' AND NOT o.published;
  END IF;
END $$;
CREATE OR REPLACE TRIGGER objects_published_on_insert BEFORE INSERT ON heritage.objects
  FOR EACH ROW EXECUTE FUNCTION heritage.object_published_on_insert();
CREATE OR REPLACE TRIGGER embargoes_inserted_publish AFTER INSERT ON heritage.embargoes
  REFERENCING NEW TABLE AS changed_embargoes
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_published_from_embargoes();
CREATE OR REPLACE TRIGGER embargoes_updated_publish AFTER UPDATE ON heritage.embargoes
  REFERENCING NEW TABLE AS changed_embargoes
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_published_from_embargoes();
CREATE OR REPLACE TRIGGER embargoes_deleted_unpublish AFTER DELETE ON heritage.embargoes
  REFERENCING OLD TABLE AS removed_embargoes
  FOR EACH STATEMENT EXECUTE FUNCTION heritage.objects_unpublished_with_embargoes();

CREATE TABLE IF NOT EXISTS heritage.publication_events (
    event_id         text PRIMARY KEY,     -- uuid5 of object, episode, from_version, to_state
    object_id        text NOT NULL,
    episode          integer NOT NULL,
    from_state       text,                 -- null for the registration
    to_state         text NOT NULL,
    from_version     bigint NOT NULL,
    to_version       bigint NOT NULL,
    as_of            timestamptz NOT NULL, -- the evaluation instant the run was given
    embargo_end_utc  timestamptz NOT NULL,
    end_input        text NOT NULL,
    end_input_zone   text NOT NULL,
    end_rule         text NOT NULL,
    rights_uri       text,
    data_provider    text,
    creator_death_year integer,
    review_reason    text,
    actor            text NOT NULL,        -- source | evaluator | curator:<name>
    rights_check     jsonb,
    decision_id      bigint,               -- the curator decision applied
    correlation_id   text,                 -- the run
    created_at       timestamptz
);
-- Columns a first version of this table lacked.
ALTER TABLE heritage.publication_events
  ADD COLUMN IF NOT EXISTS data_provider text,
  ADD COLUMN IF NOT EXISTS creator_death_year integer;
CREATE INDEX IF NOT EXISTS publication_events_object_idx
  ON heritage.publication_events (object_id, to_version);
-- The decisions applied: the publication stage starts after the highest one.
CREATE INDEX IF NOT EXISTS publication_events_decision_idx
  ON heritage.publication_events (decision_id) WHERE decision_id IS NOT NULL;

-- Curators' publication decisions (the dashboard's curator role may only insert here).
CREATE TABLE IF NOT EXISTS heritage.publication_decisions (
    decision_id   bigserial PRIMARY KEY,
    object_id     text NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('clear', 're_embargo')),
    embargo_until text,                    -- re_embargo: the new end as the curator wrote it
    embargo_zone  text,                    -- re_embargo: the IANA zone it is read in
    seen_version  bigint NOT NULL,         -- the state_version the curator saw
    decided_by    text NOT NULL,
    note          text,
    decided_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS publication_decisions_object_idx
  ON heritage.publication_decisions (object_id, decision_id DESC);

CREATE OR REPLACE VIEW analytics.embargoes AS
SELECT object_id, episode, state, state_version, embargo_end_utc, end_input, end_input_zone,
       end_rule, rights_uri, data_provider, creator_death_year, review_reason, updated_at
FROM heritage.embargoes;
COMMENT ON VIEW analytics.embargoes IS
  'One row per object: its embargo and publication state. Only published objects are public.';
COMMENT ON COLUMN analytics.embargoes.state IS 'active, expired (end reached), pending_review (rights re-check or curator) or published';
COMMENT ON COLUMN analytics.embargoes.state_version IS 'Increases by one per transition; a curator decision names the version it was made on';
COMMENT ON COLUMN analytics.embargoes.embargo_end_utc IS 'First instant at which the embargo no longer holds (half-open); 1970-01-01 00:00 UTC when the source sent no embargo';
COMMENT ON COLUMN analytics.embargoes.end_input IS 'The end as the source wrote it (2030-12-31, 2030-12, 2030 or a date and time); empty when none';
COMMENT ON COLUMN analytics.embargoes.end_input_zone IS 'IANA zone end_input was read in';
COMMENT ON COLUMN analytics.embargoes.end_rule IS 'instant, through_named_day, through_named_month, through_named_year, or none';
COMMENT ON COLUMN analytics.embargoes.review_reason IS 'Why the object waits for a curator, or why its rights check did not clear it';

CREATE OR REPLACE VIEW analytics.publication_events AS
SELECT event_id, object_id, episode, from_state, to_state, from_version, to_version, as_of,
       embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, review_reason, actor,
       rights_check, decision_id, correlation_id, created_at, data_provider, creator_death_year
FROM heritage.publication_events;
COMMENT ON VIEW analytics.publication_events IS
  'Every embargo and publication transition (append-only), each with the whole state after it: the last event per object is its state.';
COMMENT ON COLUMN analytics.publication_events.actor IS 'source (registration or new end from the source), evaluator, or curator:<name>';
COMMENT ON COLUMN analytics.publication_events.rights_check IS 'The rights check behind the transition: verdict, rule, policy version and inputs';
COMMENT ON COLUMN analytics.publication_events.decision_id IS 'The curator decision (analytics.publication_decisions) the transition applied';

CREATE OR REPLACE VIEW analytics.publication_queue AS
SELECT e.object_id, o.title, e.state, e.episode, e.state_version, e.review_reason,
       e.rights_uri, e.data_provider, e.embargo_end_utc, e.end_input, e.end_input_zone,
       e.end_rule, e.updated_at
FROM heritage.embargoes e
LEFT JOIN heritage.objects o ON o.record_id = e.object_id
WHERE e.state = 'pending_review';
COMMENT ON VIEW analytics.publication_queue IS
  'Objects waiting for a curator before publication (pending_review), with the reason. title is null while the object has not been exported.';

CREATE OR REPLACE VIEW analytics.publication_decisions AS
SELECT d.decision_id, d.object_id, d.decision, d.embargo_until, d.embargo_zone,
       d.seen_version, d.decided_by, d.note, d.decided_at,
       CASE WHEN EXISTS (SELECT 1 FROM heritage.publication_events ev
                         WHERE ev.decision_id = d.decision_id) THEN 'applied'
            WHEN EXISTS (SELECT 1 FROM heritage.embargoes e
                         WHERE e.object_id = d.object_id
                           AND e.state_version = d.seen_version) THEN 'waiting'
            ELSE 'not applied' END AS outcome
FROM heritage.publication_decisions d;
COMMENT ON VIEW analytics.publication_decisions IS
  'Curators'' publication decisions: clear (pending_review -> published) or re_embargo (a new end, a new episode).';
COMMENT ON COLUMN analytics.publication_decisions.outcome IS 'applied (an event carries it), waiting (made on the object''s current version: the next evaluation applies it) or not applied (stale: the object changed since seen_version, or the decision does not apply in its state)';
