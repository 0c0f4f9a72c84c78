"""SQL: the analyst views, their definitions and example queries (run read-only)."""

from __future__ import annotations

import streamlit as st

from heritage.dashboard.analyst_connection import PSQL_AS_READER
from heritage.dashboard.explorer_queries import VIEWS_QUERY
from heritage.dashboard.page_support import rows_or_stop, table_with_download
from heritage.postgres_db import READER_STATEMENT_TIMEOUT

EXAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Records per provider and rights statement",
        "SELECT data_provider, rights_uri, count(*) AS records\n"
        "FROM analytics.objects\nGROUP BY 1, 2\nORDER BY records DESC\nLIMIT 20",
    ),
    (
        "Full-text search (titles in every language, descriptions, creators)",
        "SELECT record_id, title, creators\nFROM analytics.objects\n"
        "WHERE search_document @@ websearch_to_tsquery('simple', 'portrait')\nLIMIT 20",
    ),
    (
        "The largest duplicate groups",
        "SELECT canonical_id, members, providers\nFROM analytics.duplicate_groups\n"
        "ORDER BY members DESC\nLIMIT 20",
    ),
    (
        "Dead letters by stage and reason",
        "SELECT stage, reason, count(*)\nFROM analytics.rejections, unnest(reasons) AS reason\n"
        "GROUP BY 1, 2\nORDER BY 3 DESC",
    ),
    (
        "Most used tags",
        "SELECT tag, count(*) AS records\nFROM analytics.objects, unnest(tags) AS tag\n"
        "GROUP BY tag\nORDER BY records DESC\nLIMIT 20",
    ),
    (
        "Curators' standing decisions",
        "SELECT record_id, other_record_id, decision, decided_by, decided_at\n"
        "FROM analytics.duplicate_decisions\nORDER BY decided_at DESC\nLIMIT 20",
    ),
)


def main() -> None:
    st.title("SQL for analysts")
    st.markdown(
        "Query the views of schema `analytics` with `psql` as the read-only role; its "
        f"statements stop after {READER_STATEMENT_TIMEOUT}. In the project folder:"
    )
    st.code(PSQL_AS_READER, language="bash")
    views = rows_or_stop(*VIEWS_QUERY)
    if not views:
        st.info("No analytics views in this database yet: `heritage services up` creates them.")
    st.header("Views")
    for view in views:
        with st.expander(f"analytics.{view['view_name']}"):
            st.caption(view["description"] or "")
            st.code(view["definition"], language="sql")
    st.header("Example queries")
    for index, (title, query) in enumerate(EXAMPLE_QUERIES):
        st.subheader(title)
        st.code(query, language="sql")
        if st.button("Run", key=f"run-example-{index}"):
            table_with_download(rows_or_stop(query), f"example-query-{index + 1}")


main()
