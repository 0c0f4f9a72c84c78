"""The curators' explorer: records from analytics.objects, page by page.

Run with `heritage dashboard`. Reads through the read-only role; results are cached for a
few seconds so new exports appear without a restart.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import streamlit as st

from heritage.dashboard.explorer_queries import fetch_page, fetch_total, reader_connection
from heritage.settings import load_settings

PAGE_SIZE = 25


@st.cache_data(ttl=10, show_spinner=False)
def _page(
    database: str, after_record_id: str | None, page_size: int
) -> tuple[list[dict[str, Any]], bool, int]:
    """One page and the total; ``database`` (host:port/name) keys the cache per database."""
    connection = reader_connection(load_settings())
    try:
        page = fetch_page(connection, after_record_id, page_size)
        return page.rows, page.has_next, fetch_total(connection)
    finally:
        connection.close()


def main() -> None:
    st.set_page_config(page_title="Heritage explorer", layout="wide")
    st.title("Heritage explorer")
    cursors: list[str | None] = st.session_state.setdefault("page_cursors", [None])
    settings = load_settings()
    database = f"{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"
    try:
        rows, has_next, total = _page(database, cursors[-1], PAGE_SIZE)
    except psycopg2.Error as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        st.error(
            "The collection database cannot be reached right now "
            f"({first_line}). Check `heritage services status`; this page retries on reload."
        )
        return
    if total == 0:
        st.info(
            "No records yet. Run `make demo` (or `heritage demo`) to load the sample collection."
        )
        return
    page_number = len(cursors)
    st.caption(f"{total:,} records · page {page_number} · {PAGE_SIZE} per page")
    st.dataframe(rows, width="stretch", hide_index=True)
    previous_col, next_col = st.columns(2)
    if previous_col.button("◀ Previous", disabled=page_number == 1, key="previous"):
        cursors.pop()
        st.rerun()
    if next_col.button("Next ▶", disabled=not has_next, key="next"):
        cursors.append(rows[-1]["record_id"])
        st.rerun()


main()
