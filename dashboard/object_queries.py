"""SQL of the object page, run as the read-only role against the analytics views.

Pure query builders like those in explorer_queries: ``(sql, params)`` with ``%s``
placeholders only, the text assembled from constants."""

from __future__ import annotations

from heritage.dashboard.explorer_queries import Query

# The record's own columns, in the order its JSON download lists them.
RECORD_COLUMNS = (
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
    "rights_uri",
    "image_url",
    "data_provider",
    "provider",
    "country",
    "languages",
    "source_updated_at",
    "ingested_at",
    "canonical_id",
    "tags",
    "comment_count",
    "annotation_count",
)


_RECORD_SELECT = "SELECT " + ", ".join("o." + column for column in RECORD_COLUMNS)


def object_record_query(record_id: str) -> Query:
    """One record with its stored image: status, thumbnail, the original's sha256 (its
    object key) and its pixel size."""
    return (
        _RECORD_SELECT + ", "
        "i.status AS image_status, i.thumbnail_key, i.failure_reason, i.sha256, "
        "i.content_type, i.width, i.height "
        "FROM analytics.objects o "
        "LEFT JOIN analytics.object_images i ON i.record_id = o.record_id "
        "WHERE o.record_id = %s",
        (record_id,),
    )
