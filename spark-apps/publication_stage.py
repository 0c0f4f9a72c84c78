"""The ``publication`` stage's adapter: embargo evaluation, the rights check, publication
events and IIIF manifests, as of now (see publication_run)."""

from __future__ import annotations

from datetime import UTC, datetime

from heritage.spark_apps.publication_run import run_publication
from heritage.stage_contract import StageContext, StageResult

NAME = "publication"


def run(context: StageContext) -> StageResult:
    result = run_publication(context.spark, context.settings, context.layout, datetime.now(UTC))
    if result.did_nothing:
        return StageResult.idle(NAME)
    return StageResult(
        NAME,
        result.events,
        f"{result.changed:,} objects changed, {result.events:,} events, {result.sent:,} sent",
        figures={
            "synced": result.synced,
            "due": result.due,
            "decisions": result.decisions,
            "changed": result.changed,
            "events": result.events,
            "sent": result.sent,
        },
    )
