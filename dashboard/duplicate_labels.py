"""What the duplicates review shows a curator: each member's facts side by side (title,
creator, date, a shortened description, provider, image size), merge choices named by
title, and a review action described in words. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from heritage.dashboard.field_labels import MISSING, pixel_size, readable_datetime, readable_value
from heritage.dashboard.review_decisions import DecisionEntry

DESCRIPTION_CHARS = 160
# The facts compared per member, in the order shown.
COMPARED_FACTS = ("Title", "Creator", "Date", "Description", "Provider", "Image size")


def shortened(text: str | None, limit: int = DESCRIPTION_CHARS) -> str:
    """At most ``limit`` characters, cut at a word and marked with an ellipsis."""
    if not text:
        return MISSING
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] or flat[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"


def member_facts(member: Mapping[str, Any]) -> dict[str, str]:
    return {
        "Title": readable_value(member.get("title")),
        "Creator": readable_value(member.get("creators")),
        "Date": readable_value(member.get("date_original")),
        "Description": shortened(member.get("description")),
        "Provider": readable_value(member.get("data_provider")),
        "Image size": pixel_size(member.get("width"), member.get("height")),
    }


def comparison_rows(members: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per fact, one column per member (its record id, the canonical one marked),
    so differences read across a line."""
    headings = [
        f"{m['record_id']}" + (" (canonical)" if m["record_id"] == m.get("canonical_id") else "")
        for m in members
    ]
    facts = [member_facts(m) for m in members]
    return [
        {"": fact, **{heading: f[fact] for heading, f in zip(headings, facts, strict=True)}}
        for fact in COMPARED_FACTS
    ]


def merge_label(canonical_id: str, titles: Mapping[str, str | None]) -> str:
    """A merge choice as "Title — record id" (the id alone when the title is unknown)."""
    title = (titles.get(canonical_id) or "").strip()
    return f"{title} — {canonical_id}" if title else canonical_id


def action_summary(entries: Sequence[DecisionEntry]) -> str:
    """One review action in words, e.g. "2 pairs marked the same on 6 Dec 2026, 17:40 UTC"."""
    if not entries:
        return "nothing"
    same = sum(1 for e in entries if e.decision == "same")
    different = len(entries) - same
    parts = [f"{same} pair{'s' if same != 1 else ''} marked the same"] if same else []
    if different:
        parts.append(f"{different} pair{'s' if different != 1 else ''} marked different")
    return " and ".join(parts) + f" on {readable_datetime(entries[0].decided_at)}"
