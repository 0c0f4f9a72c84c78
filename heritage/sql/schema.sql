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

CREATE OR REPLACE VIEW analytics.objects AS
SELECT record_id, source, title, titles, creators, description, date_original, date_start,
       date_end, object_type, rights_uri, image_url, data_provider, provider, country,
       languages, source_updated_at, ingested_at
FROM heritage.objects;

COMMENT ON VIEW analytics.objects IS
  'One row per cleansed heritage record (latest version). record_id is stable and source-namespaced.';
COMMENT ON COLUMN analytics.objects.titles IS 'Titles by ISO 639 language code: {"en": ["..."], ...}';
COMMENT ON COLUMN analytics.objects.date_original IS 'The date as the source wrote it';
COMMENT ON COLUMN analytics.objects.date_start IS 'Earliest date the original allows (UTC)';
COMMENT ON COLUMN analytics.objects.rights_uri IS 'Canonical rightsstatements.org or creativecommons.org URI';
