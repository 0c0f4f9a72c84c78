"""What every page shares: querying with a clear message instead of a traceback, thumbnails,
and links to the object page."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import psycopg2
import streamlit as st
from psycopg2 import sql

from heritage.dashboard.connection_pool import (
    DatabaseUnavailable,
    Rows,
    cached_rows,
    current_address,
    unavailable_message,
)
from heritage.dashboard.thumbnails import thumbnail
from heritage.spreadsheet_cells import spreadsheet_csv

OBJECT_PAGE = "object_page.py"


def stop_with_error(message: str) -> NoReturn:
    st.error(message)
    st.stop()
    raise AssertionError("st.stop() returned")  # for type checkers: st.stop never returns


def rows_or_stop(query: str | sql.Composable, params: tuple[Any, ...] = ()) -> Rows:
    """Query results (cached briefly); on any database error, a one-line message and stop."""
    try:
        return cached_rows(current_address(), query, params)
    except DatabaseUnavailable as error:
        stop_with_error(str(error))
    except psycopg2.Error as error:
        if isinstance(error, psycopg2.errors.UndefinedTable | psycopg2.errors.UndefinedObject):
            stop_with_error(
                "The analytics views are missing in this database "
                f"({str(error).strip().splitlines()[0]}). Run `heritage services up` "
                "(it applies the schema) and reload."
            )
        stop_with_error(unavailable_message(error))


def table_with_download(rows: Sequence[Mapping[str, Any]], name: str) -> None:
    """A table and a button that downloads it as CSV, cells that a spreadsheet would run as
    formulas escaped. The tables' own CSV export is off (`heritage dashboard` starts
    Streamlit with client.disableDataExport): it writes such cells unescaped."""
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button(
        "Download CSV",
        spreadsheet_csv(rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{name}",
        on_click="ignore",
        icon=":material/download:",
    )


def escape_markdown(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def show_thumbnail(key: str | None, width: int = 120) -> None:
    image = thumbnail(key)
    if image is None:
        st.caption("no image")
    else:
        st.image(image, width=width)


def open_object_button(record_id: str, key: str, label: str = "Open") -> None:
    if st.button(label, key=key, help=f"Show {record_id}"):
        st.switch_page(OBJECT_PAGE, query_params={"record_id": record_id})
