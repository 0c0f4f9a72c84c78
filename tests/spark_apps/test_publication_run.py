"""Embargoes end to end on the real stack: records with and without embargoes travel Kafka ->
raw -> cleansed -> curated -> governance/embargoes -> PostgreSQL and the publication topic;
open statements publish, an embargo holds until its end, In Copyright waits for a curator,
whose decision publishes it; the IIIF Auth probe follows; a second evaluation at the same
instant changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import urlopen

import pytest
from pyspark.sql import SparkSession
from topic_reader import TopicReader

from heritage.delta_tables import table_version
from heritage.embargo_time import embargo_end
from heritage.iiif.iiif_server import make_server
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import run_stages
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.settings import Settings
from heritage.spark_apps.publication_run import run_publication

pytestmark = [pytest.mark.integration, pytest.mark.zones]

PDM = "http://creativecommons.org/publicdomain/mark/1.0/"
IN_COPYRIGHT = "http://rightsstatements.org/vocab/InC/1.0/"
PROVIDER = "Rijksmuseum"


def item(
    local_id: str, rights: str, until: str | None = None, zone: str | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"/7/{local_id}",
        "type": "IMAGE",
        "title": [f"Object {local_id}"],
        "rights": [rights],
        "dataProvider": [PROVIDER],
        "timestamp_update": "2026-01-01T00:00:00Z",
    }
    if until is not None:
        end = embargo_end(until, "Europe/Amsterdam", zone, local_id)
        record |= {
            "embargo_until": end.verbatim,
            "embargo_zone": end.zone,
            "embargo_rule": end.rule.value,
            "embargo_end_utc": end.end_utc.isoformat().replace("+00:00", "Z"),
        }
    return record


ITEMS = {
    "open": item("open", PDM),
    "held": item("held", PDM, "2099-12-31"),
    "ended": item("ended", PDM, "2020-06-30T12:00:00", "Pacific/Kiritimati"),
    "restricted": item("restricted", IN_COPYRIGHT),
}


def rid(name: str) -> str:
    return f"europeana:/7/{name}"


def publish(settings: Settings, layout: LakehouseLayout, items: dict[str, dict[str, Any]]) -> None:
    producer = create_producer(settings)
    ledger = PublishLedger(layout.producer_state_dir / "europeana.sqlite")
    try:
        records = [SourceRecord(rid(name), value) for name, value in items.items()]
        envelopes = envelopes_from("europeana", records)
        publish_envelopes(producer, ledger, layout.records_topic, envelopes, progress=False)
    finally:
        producer.close()
        ledger.close()


def query(settings: Settings, layout: LakehouseLayout, sql: str, *args: object) -> list[Any]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = cursor.fetchall() if cursor.description else []
    connection.close()
    return rows


@pytest.fixture
def probe_base(live_settings: Settings, layout: LakehouseLayout) -> Iterator[str]:
    server = make_server(live_settings, layout, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{server.base_path}"
    server.shutdown()
    server.server_close()


def probe(base: str, object_id: str) -> tuple[int, dict[str, Any]]:
    try:
        with urlopen(f"{base}/probe/{quote(object_id, safe='')}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def states(settings: Settings, layout: LakehouseLayout) -> dict[str, tuple[Any, ...]]:
    rows = query(
        settings,
        layout,
        "SELECT object_id, state, state_version, episode, end_rule FROM heritage.embargoes",
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_embargoes_hold_until_their_end_and_rights_clear_before_release(
    spark: SparkSession,
    live_settings: Settings,
    layout: LakehouseLayout,
    read_topic: TopicReader,
    probe_base: str,
) -> None:
    publish(live_settings, layout, ITEMS)
    run_stages(live_settings, layout, spark=spark, skip=("ml",))

    found = states(live_settings, layout)
    assert found[rid("open")] == ("published", 4, 1, "none")
    assert found[rid("held")] == ("active", 1, 1, "through_named_day")
    assert found[rid("ended")] == ("published", 4, 1, "instant")
    assert found[rid("restricted")] == ("pending_review", 3, 1, "none")
    queue = query(
        live_settings, layout, "SELECT object_id, review_reason FROM analytics.publication_queue"
    )
    assert [row[0] for row in queue] == [rid("restricted")]
    assert queue[0][1]

    # Every published object passed pending_review and a rights check that cleared it.
    events = query(
        live_settings,
        layout,
        "SELECT object_id, from_state, to_state, rights_check FROM heritage.publication_events"
        " ORDER BY object_id, to_version",
    )
    for object_id, from_state, to_state, check in events:
        if to_state == "published":
            assert from_state == "pending_review", object_id
            assert check["verdict"] == "cleared", object_id
    messages = read_topic.messages(layout.publication_topic)
    sent = [dict(m.headers)["event_id"].decode() for m in messages]
    assert all(m.value["event_id"] == dict(m.headers)["event_id"].decode() for m in messages)
    assert all(m.key == m.value["object_id"] for m in messages)
    assert sorted(set(sent)) == sorted(
        row[0]
        for row in query(live_settings, layout, "SELECT event_id FROM heritage.publication_events")
    )

    # The same instant again: nothing to do, no Delta version anywhere.
    as_of = datetime(2030, 1, 1, tzinfo=UTC)
    first = run_publication(spark, live_settings, layout, as_of, manifests=False)
    versions = (
        table_version(spark, layout.governance_embargoes),
        table_version(spark, layout.governance_embargo_events),
    )
    again = run_publication(spark, live_settings, layout, as_of, manifests=False)
    assert first.changed == 0
    assert (again.changed, again.events, again.sent) == (0, 0, 0)
    assert versions == (
        table_version(spark, layout.governance_embargoes),
        table_version(spark, layout.governance_embargo_events),
    )

    # The probe answers from the state: 401 while the curator has not cleared the object.
    assert probe(probe_base, rid("restricted"))[0] == 401
    assert probe(probe_base, rid("open"))[0] == 200
    # The manifest's seeAlso: the descriptive record of published objects only.
    with urlopen(f"{probe_base}/records/{quote(rid('open'), safe='')}.json", timeout=10) as got:
        assert json.loads(got.read())["title"] == "Object open"
    with pytest.raises(HTTPError) as hidden:
        urlopen(f"{probe_base}/records/{quote(rid('restricted'), safe='')}.json", timeout=10)
    assert hidden.value.code == 404
    query(
        live_settings,
        layout,
        "INSERT INTO heritage.publication_decisions (object_id, decision, seen_version,"
        " decided_by, note) VALUES (%s, 'clear', 3, 'curator-a', 'licence on file')",
        rid("restricted"),
    )
    # A stale decision (made on another version) is ignored.
    query(
        live_settings,
        layout,
        "INSERT INTO heritage.publication_decisions (object_id, decision, embargo_until,"
        " embargo_zone, seen_version, decided_by) VALUES (%s, 're_embargo', '2090-01-01',"
        " 'Europe/Amsterdam', 1, 'curator-b')",
        rid("open"),
    )
    run_stages(live_settings, layout, spark=spark, skip=("ml",))
    found = states(live_settings, layout)
    assert found[rid("restricted")] == ("published", 4, 1, "none")
    assert found[rid("open")] == ("published", 4, 1, "none")
    assert probe(probe_base, rid("restricted"))[0] == 200
    cleared = query(
        live_settings,
        layout,
        "SELECT actor, decision_id IS NOT NULL FROM heritage.publication_events"
        " WHERE object_id = %s AND to_state = 'published'",
        rid("restricted"),
    )
    assert cleared == [("curator:curator-a", True)]

    # A curator re-embargoes a published object: a new episode, closed again at once.
    query(
        live_settings,
        layout,
        "INSERT INTO heritage.publication_decisions (object_id, decision, embargo_until,"
        " embargo_zone, seen_version, decided_by) VALUES (%s, 're_embargo', '2090-01-01',"
        " 'Europe/Amsterdam', 4, 'curator-b')",
        rid("open"),
    )
    run_stages(live_settings, layout, spark=spark, skip=("ml",))
    assert states(live_settings, layout)[rid("open")] == ("active", 5, 2, "through_named_day")
    assert probe(probe_base, rid("open"))[0] == 401
