"""Packages: submission packages and how their workflows ended, one workflow's timeline step
by step, the files of a stored version (format, size, checksum, virus scan), and the
quarantine with its reasons. Reads the package views of PostgreSQL only."""

from __future__ import annotations

from typing import Any

import streamlit as st

from heritage.dashboard.package_labels import (
    diff_summary,
    file_rows,
    package_rows,
    quarantine_rows,
    timeline_rows,
    version_choice,
    workflow_choice,
)
from heritage.dashboard.package_queries import (
    PACKAGE_COUNTS_QUERY,
    packages_query,
    quarantine_query,
    version_files_query,
    versions_query,
    workflow_events_query,
    workflows_query,
)
from heritage.dashboard.page_support import rows_or_stop, table_with_download

# How many packages, workflows, versions and quarantined workflows the page lists.
LISTED = 200


def show_counts() -> None:
    counts = rows_or_stop(*PACKAGE_COUNTS_QUERY)[0]
    for column, (label, key) in zip(
        st.columns(5),
        (
            ("packages", "packages"),
            ("stored versions", "versions"),
            ("workflows", "workflows"),
            ("duplicate submissions", "duplicate"),
            ("quarantined", "quarantined"),
        ),
        strict=True,
    ):
        column.metric(label, f"{counts[key]:,}")


def show_packages() -> bool:
    """The package list; False when there is no package yet."""
    st.subheader("Packages")
    packages = rows_or_stop(*packages_query(LISTED))
    if not packages:
        st.info(
            "No submission packages yet. They appear here once a package has been ingested "
            "and `heritage lakehouse run` has exported its events."
        )
        return False
    st.caption(f"The {len(packages):,} most recently processed (status: its latest workflow).")
    table_with_download(package_rows(packages), "packages")
    return True


def show_timeline() -> None:
    st.subheader("Workflow timeline")
    workflows = rows_or_stop(*workflows_query(LISTED))
    choice: dict[str, Any] | None = st.selectbox(
        "Workflow",
        workflows,
        index=None,
        format_func=workflow_choice,
        key="workflow_choice",
        placeholder="a workflow (newest first)",
    )
    if choice is None:
        return
    st.caption(f"Workflow `{choice['workflow_id']}` · submission {choice['submission']}")
    events = rows_or_stop(*workflow_events_query(choice["workflow_id"]))
    table_with_download(timeline_rows(events), f"workflow-{choice['workflow_id']}")


def show_files() -> None:
    st.subheader("Files of a version")
    versions = rows_or_stop(*versions_query(LISTED))
    if not versions:
        st.caption("No stored version yet.")
        return
    choice: dict[str, Any] | None = st.selectbox(
        "Version",
        versions,
        index=None,
        format_func=version_choice,
        key="version_choice",
        placeholder="a stored package version (newest first)",
    )
    if choice is None:
        return
    files = rows_or_stop(*version_files_query(choice["package_id"], choice["version"]))
    changes = diff_summary(choice["diff"])
    st.caption(f"{len(files):,} files" + (f" · {changes}" if changes else ""))
    table_with_download(file_rows(files), f"files-{choice['package_id']}-v{choice['version']}")


def show_quarantine() -> None:
    st.subheader("Quarantine")
    quarantined = rows_or_stop(*quarantine_query(LISTED))
    if not quarantined:
        st.caption("Nothing in quarantine.")
        return
    st.caption(
        f"{len(quarantined):,} workflows ended in quarantine; each package and its "
        "reason.json are kept in the package store under the folder shown."
    )
    table_with_download(quarantine_rows(quarantined), "quarantine")


def main() -> None:
    st.title("Packages")
    show_counts()
    if not show_packages():
        return
    show_timeline()
    show_files()
    show_quarantine()


main()
