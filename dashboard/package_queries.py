"""SQL of the packages page, run as the read-only role against the package views.

Pure query builders, as in :mod:`heritage.dashboard.explorer_queries`: each returns
``(sql, params)`` with ``%s`` placeholders only; the SQL text is constant.
"""

from __future__ import annotations

from heritage.dashboard.explorer_queries import Query

PACKAGE_COUNTS_QUERY: Query = (
    "SELECT (SELECT count(DISTINCT package_id) FROM analytics.package_workflows) AS packages, "
    "(SELECT count(*) FROM analytics.packages) AS versions, "
    "count(*) AS workflows, "
    "count(*) FILTER (WHERE status = 'stored') AS stored, "
    "count(*) FILTER (WHERE status = 'duplicate') AS duplicate, "
    "count(*) FILTER (WHERE status = 'quarantined') AS quarantined "
    "FROM analytics.package_workflows",
    (),
)


def packages_query(limit: int) -> Query:
    """One row per package id, newest activity first: how its latest workflow ended, and its
    latest stored version (none for a package that was never stored)."""
    return (
        "WITH latest AS ("
        " SELECT DISTINCT ON (package_id) package_id, status, submission, ended_at"
        " FROM analytics.package_workflows ORDER BY package_id, ended_at DESC, workflow_id"
        ") SELECT l.package_id, p.title, p.version, l.status, l.submission, l.ended_at,"
        " p.file_count, p.total_bytes"
        " FROM latest l"
        " LEFT JOIN analytics.packages p ON p.package_id = l.package_id AND p.is_latest"
        " ORDER BY l.ended_at DESC, l.package_id LIMIT %s",
        (limit,),
    )


def workflows_query(limit: int) -> Query:
    return (
        "SELECT workflow_id, package_id, submission, status, package_version, events, failures,"
        " warnings, started_at, ended_at FROM analytics.package_workflows"
        " ORDER BY ended_at DESC, workflow_id LIMIT %s",
        (limit,),
    )


def workflow_events_query(workflow_id: str) -> Query:
    """The events of one workflow in the order the steps ran."""
    return (
        "SELECT step, file_path, outcome, started_at, ended_at, tool, tool_version, detail"
        " FROM analytics.ingest_events WHERE workflow_id = %s"
        " ORDER BY started_at, ended_at, file_path NULLS FIRST, step",
        (workflow_id,),
    )


def versions_query(limit: int) -> Query:
    return (
        "SELECT package_id, version, is_latest, title, file_count, total_bytes, stored_at, diff"
        " FROM analytics.packages ORDER BY stored_at DESC, package_id, version DESC LIMIT %s",
        (limit,),
    )


def version_files_query(package_id: str, version: int) -> Query:
    return (
        "SELECT path, puid, format_name, mime, size, container, checksum_status,"
        " virus_verdict, virus_signature FROM analytics.package_files"
        " WHERE package_id = %s AND version = %s ORDER BY path",
        (package_id, version),
    )


def quarantine_query(limit: int) -> Query:
    return (
        "SELECT quarantined_at, package_id, submission, reason, failed_steps,"
        " quarantine_folder, workflow_id FROM analytics.package_quarantine"
        " ORDER BY quarantined_at DESC, workflow_id LIMIT %s",
        (limit,),
    )
