"""The curators' explorer and the operators' view: a multipage Streamlit app.

Run with `heritage dashboard`. Every page reads PostgreSQL's analytics views as the read-only
role through a pooled connection; results are cached for a few seconds, so new exports appear
without a restart. Duplicate and publication decisions are the only writes, made as the
curator role (which may only insert them).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from heritage.json_logging import configure_logging
from heritage.settings import load_settings

HERE = Path(__file__).resolve().parent

PAGES = [
    st.Page(str(HERE / "explore_page.py"), title="Explore", icon=":material/search:", default=True),
    st.Page(
        str(HERE / "object_page.py"), title="Object", icon=":material/image:", url_path="object"
    ),
    st.Page(
        str(HERE / "duplicates_page.py"),
        title="Duplicates review",
        icon=":material/join:",
        url_path="duplicates",
    ),
    st.Page(
        str(HERE / "publication_page.py"),
        title="Publication",
        icon=":material/publish:",
        url_path="publication",
    ),
    st.Page(
        str(HERE / "pipeline_page.py"),
        title="Pipeline",
        icon=":material/monitoring:",
        url_path="pipeline",
    ),
    st.Page(
        str(HERE / "packages_page.py"),
        title="Packages",
        icon=":material/inventory_2:",
        url_path="packages",
    ),
    st.Page(
        str(HERE / "ocr_review_page.py"),
        title="OCR review",
        icon=":material/document_scanner:",
        url_path="ocr",
    ),
    st.Page(str(HERE / "sql_page.py"), title="SQL", icon=":material/code:", url_path="sql"),
]


@st.cache_resource
def _json_logs() -> bool:
    """Once per server process: structured logs on stderr (not under AppTest)."""
    if load_settings().value("HERITAGE_DASHBOARD_JSON_LOGS"):
        configure_logging()
        return True
    return False


_json_logs()
st.set_page_config(page_title="Heritage explorer", layout="wide")
st.navigation(PAGES).run()
