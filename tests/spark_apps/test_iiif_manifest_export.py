"""The IIIF manifest export on the real stack (Spark, MinIO, Kafka): manifests follow the
CURRENT state in governance/embargoes whatever the events say, a rerun writes nothing, and
provider collections list exactly the published objects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from kafka import KafkaProducer
from pyspark.sql import SparkSession

from heritage.iiif.manifest_store import ManifestStore
from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import PROJECT_ROOT, Settings
from heritage.spark_apps.iiif_manifest_export import (
    PublicationMessage,
    affected_objects,
    export_manifests,
    manifest_object,
    provider_members,
)
from heritage.table_schemas import CURATED_RECORDS, EMBARGOES, ML_IMAGES

SCHEMA = PROJECT_ROOT.parent / "shared" / "schemas" / "iiif" / "iiif_3_0.json"
BASE_URL = "http://localhost:8182/iiif"
RIGHTS = "http://creativecommons.org/publicdomain/mark/1.0/"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
GIRL = "europeana:/2021672/girl_with_a_pearl_earring"
GOLDFINCH = "europeana:/2021672/goldfinch"
LETTER = "europeana:/9200579/letter"  # published, but its image is not stored yet
MAURITSHUIS, ARCHIVE = "Mauritshuis", "Haarlem Archive"


def _source(**changes: Any) -> dict[str, Any]:
    row = {
        "object_id": GIRL,
        "published": True,
        "data_provider": MAURITSHUIS,
        "rights_uri": "https://creativecommons.org/publicdomain/mark/1.0/deed.en",
        "title": "Girl with a Pearl Earring",
        "titles": {"def": ["Meisje met de parel"], "en": ["Girl with a Pearl Earring"]},
        "description": "Tronie of a girl in a turban.",
        "creators": ["Johannes Vermeer"],
        "date_original": "c. 1665",
        "object_type": "IMAGE",
        "provider": "Europeana Foundation",
        "has_image": True,
        "content_type": "image/jpeg",
        "width": 800,
        "height": 940,
    }
    return {**row, **changes}


def test_the_manifest_object_comes_from_the_curated_record_and_its_stored_image() -> None:
    built = manifest_object(_source(), BASE_URL)
    assert built is not None
    assert built.titles == {"en": ["Girl with a Pearl Earring"], "none": ["Meisje met de parel"]}
    assert built.descriptions == {"none": ["Tronie of a girl in a turban."]}
    assert built.rights_uri == RIGHTS
    assert (
        built.image_url == f"{BASE_URL}/images/europeana%3A%2F2021672%2Fgirl_with_a_pearl_earring"
    )
    assert ({"en": ["Creator"]}, {"none": ["Johannes Vermeer"]}) in built.metadata
    assert (built.width, built.height, built.image_format) == (800, 940, "image/jpeg")
    assert built.homepage == "https://www.europeana.eu/item/2021672/girl_with_a_pearl_earring"
    assert built.see_also == [
        f"{BASE_URL}/records/europeana%3A%2F2021672%2Fgirl_with_a_pearl_earring.json"
    ]
    assert manifest_object(_source(object_id="lido:DE-1/7"), BASE_URL).homepage is None  # type: ignore[union-attr]
    assert manifest_object(_source(titles=None), BASE_URL).titles == {  # type: ignore[union-attr]
        "none": ["Girl with a Pearl Earring"]
    }
    for without in ({"has_image": False}, {"width": None}, {"rights_uri": "all rights"}):
        assert manifest_object(_source(**without), BASE_URL) is None, without


def test_events_count_once_per_event_id_and_name_their_objects() -> None:
    messages = [
        PublicationMessage("e1", "b"),
        PublicationMessage("e2", "a"),
        PublicationMessage("e1", "b"),
        PublicationMessage("e3", "b"),
    ]
    assert affected_objects(messages) == (3, ["a", "b"])


def test_members_are_grouped_by_provider_in_id_order() -> None:
    rows = [
        {"data_provider": "P", "object_id": "b", "title": "B", "rights_uri": RIGHTS},
        {"data_provider": "P", "object_id": "a", "title": None, "rights_uri": RIGHTS},
        {"data_provider": "Q", "object_id": "c", "title": "C", "rights_uri": "nonsense"},
    ]
    assert provider_members(rows) == {"P": [("a", "a"), ("b", "B")]}


def _curated_row(object_id: str, provider: str, title: str, offset: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CURATED_RECORDS.fieldNames())
    row.update(
        record_id=object_id,
        source="europeana",
        title=title,
        titles={"en": [title]},
        creators=["Johannes Vermeer"],
        description=f"About {title}.",
        date_original="1665",
        object_type="IMAGE",
        rights_uri=RIGHTS,
        data_provider=provider,
        provider="Europeana Foundation",
        content_hash=f"{offset:064d}",
        ingested_at=NOW,
        kafka_partition=0,
        kafka_offset=offset,
        canonical_id=object_id,
        tags=[],
        comment_count=0,
        annotation_count=0,
        curated_hash=f"{offset:064d}",
        curate_run=1,
    )
    return row


def _image_row(object_id: str) -> dict[str, Any]:
    return {
        "record_id": object_id,
        "image_url": f"https://images.example.org/{object_id.rsplit('/', 1)[1]}.jpg",
        "content_hash": "c" * 64,
        "status": "stored",
        "sha256": "a" * 64,
        "thumbnail_key": "images/thumbnails/" + "a" * 64 + ".jpg",
        "content_type": "image/jpeg",
        "width": 640,
        "height": 480,
        "failure_reason": None,
        "attempts": 1,
        "last_attempt_at": NOW,
    }


def _state_row(object_id: str, provider: str, state: str, version: int) -> dict[str, Any]:
    return {
        "object_id": object_id,
        "episode": 1,
        "state": state,
        "state_version": version,
        "embargo_end_utc": datetime(2026, 1, 1, tzinfo=UTC),
        "end_input": "2025-12-31",
        "end_input_zone": "Europe/Amsterdam",
        "end_rule": "through_named_day",
        "rights_uri": RIGHTS,
        "data_provider": provider,
        "creator_death_year": 1675,
        "review_reason": None,
        "updated_at": NOW,
    }


def _write(spark: SparkSession, path: str, rows: Sequence[dict[str, Any]], schema: Any) -> None:
    # Columns a row does not name are null (columns the stage does not read).
    frame = spark.createDataFrame(
        [tuple(r.get(n) for n in schema.fieldNames()) for r in rows], schema
    )
    frame.write.format("delta").mode("overwrite").save(path)


def _write_states(spark: SparkSession, layout: LakehouseLayout, states: dict[str, str]) -> None:
    provider = {GIRL: MAURITSHUIS, GOLDFINCH: MAURITSHUIS, LETTER: ARCHIVE}
    rows = [_state_row(o, provider[o], s, 4) for o, s in states.items()]
    _write(spark, layout.governance_embargoes, rows, EMBARGOES)


def _publish(
    settings: Settings, layout: LakehouseLayout, events: Sequence[tuple[str, str]]
) -> None:
    """(event_id, object_id) events, as the publication stage sends them."""
    ensure_topics(settings, (layout.publication_topic,))
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        for event_id, object_id in events:
            value = {"event_id": event_id, "object_id": object_id, "to_state": "published"}
            producer.send(
                layout.publication_topic,
                key=object_id.encode(),
                value=json.dumps(value).encode(),
                headers=[("event_id", event_id.encode())],
            )
        producer.flush()
    finally:
        producer.close()


def _document(data: bytes | None) -> dict[str, Any]:
    assert data is not None
    document = json.loads(data)
    assert isinstance(document, dict)
    return document


def _assert_valid(document: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        return  # the official schema is not present in this checkout
    schema = json.loads(Path(SCHEMA).read_text(encoding="utf-8"))
    errors = [error.message for error in Draft7Validator(schema).iter_errors(document)]
    assert errors == []


def _members(store: ManifestStore, provider: str) -> list[str]:
    collection = _document(store.read_collection(provider))
    _assert_valid(collection)
    return [item["id"].rsplit("/", 1)[1] for item in collection["items"]]


@pytest.mark.integration
def test_manifests_follow_the_current_state_and_a_rerun_writes_nothing(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    curated = [
        _curated_row(GIRL, MAURITSHUIS, "Girl with a Pearl Earring", 1),
        _curated_row(GOLDFINCH, MAURITSHUIS, "The Goldfinch", 2),
        _curated_row(LETTER, ARCHIVE, "A letter", 3),
    ]
    _write(spark, layout.curated_records, curated, CURATED_RECORDS)
    _write(spark, layout.ml_images, [_image_row(GIRL), _image_row(GOLDFINCH)], ML_IMAGES)
    _write_states(spark, layout, {GIRL: "published", GOLDFINCH: "active", LETTER: "published"})
    _publish(live_settings, layout, [("e1", GIRL), ("e2", GOLDFINCH), ("e3", LETTER), ("e1", GIRL)])

    first = export_manifests(spark, live_settings, layout)
    assert (first.events_read, first.objects, first.manifests_written) == (3, 3, 1)
    assert (first.skipped, first.manifests_withdrawn, first.collections_written) == (1, 0, 1)
    store = ManifestStore.open(live_settings, layout)
    manifest = _document(store.read_manifest(GIRL))
    _assert_valid(manifest)
    assert manifest["label"] == {"en": ["Girl with a Pearl Earring"]}
    assert store.read_manifest(GOLDFINCH) is None and store.read_manifest(LETTER) is None
    assert _members(store, MAURITSHUIS) == [
        "europeana%3A%2F2021672%2Fgirl_with_a_pearl_earring.json"
    ]
    assert store.read_collection(ARCHIVE) is None

    again = export_manifests(spark, live_settings, layout)
    assert (again.events_read, again.objects, again.manifests_written) == (0, 0, 0)
    _publish(live_settings, layout, [("e1", GIRL)])  # a redelivery of an old event
    replay = export_manifests(spark, live_settings, layout)
    assert (replay.manifests_written, replay.manifests_unchanged) == (0, 1)
    assert replay.collections_written == 0

    _write_states(spark, layout, {GIRL: "active", GOLDFINCH: "published", LETTER: "published"})
    _publish(live_settings, layout, [("e4", GIRL), ("e5", GOLDFINCH)])
    changed = export_manifests(spark, live_settings, layout)
    assert (changed.manifests_withdrawn, changed.manifests_written) == (1, 1)
    assert store.read_manifest(GIRL) is None
    assert _members(store, MAURITSHUIS) == ["europeana%3A%2F2021672%2Fgoldfinch.json"]

    _write_states(spark, layout, {GIRL: "active", GOLDFINCH: "active", LETTER: "published"})
    full = export_manifests(spark, live_settings, layout, full=True)
    assert (full.events_read, full.objects, full.manifests_withdrawn) == (0, 3, 1)
    assert (full.skipped, full.collections_removed) == (1, 1)
    assert store.read_collection(MAURITSHUIS) is None
