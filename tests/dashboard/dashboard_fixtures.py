"""What the dashboard's tests share: a small collection with ML outputs seeded the way the
ML job's export writes them (stored thumbnails, duplicate groups, pairs, similar objects)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import SampleManifest
from heritage.record_model import SourceRecord
from heritage.settings import Settings

RECORDS, SEED = 120, 9


@dataclass(frozen=True)
class DashboardData:
    layout: LakehouseLayout
    manifest: SampleManifest
    groups: dict[str, list[str]]  # canonical id -> members
    annotated_record_id: str


def demo_thumbnail(image_url: str) -> bytes:
    """The thumbnail the ML stage would store for ``image_url``: the demo image server's
    picture for it (its near-duplicates are the same transformed variants), at most 256 px."""
    from heritage.ml.demo_image_server import demo_image, local_image_url

    local = local_image_url(image_url, "http://demo")
    match = re.match(r"^http://demo/media/[^/]+/iiif/([^/]+)/full/([^/]+)/", local)
    assert match, f"not a sample collection image URL: {image_url}"
    picture = Image.open(io.BytesIO(demo_image(match.group(1), variant=match.group(2) != "max")))
    picture.thumbnail((256, 256))
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def seed_ml_outputs(
    settings: Settings, layout: LakehouseLayout, manifest: SampleManifest
) -> dict[str, list[str]]:
    """Thumbnails in the bucket and the ML tables, as the ML job's export would write them."""
    from heritage.object_store import object_store_client

    duplicates = {**manifest.exact_duplicates, **manifest.near_duplicates}
    groups: dict[str, list[str]] = {}
    for copy, original in sorted(duplicates.items()):
        groups.setdefault(original, [original]).append(copy)
    client = object_store_client(settings)
    prefix = layout.table_root.removeprefix(f"s3a://{settings.bucket}/")
    valid = sorted(manifest.valid_record_ids)
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT record_id, image_url FROM heritage.objects")
        image_urls = dict(cursor.fetchall())
    connection.close()
    images = []
    for index, record_id in enumerate(valid):
        key = f"{prefix}/images/thumbnails/{index:04d}.jpg"
        data = demo_thumbnail(image_urls[record_id])
        client.put_object(settings.bucket, key, io.BytesIO(data), len(data), "image/jpeg")
        images.append((record_id, image_urls[record_id], key))
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO heritage.object_images (record_id, image_url, status, sha256, "
            "thumbnail_key, content_type, width, height, attempts, last_attempt_at) "
            "VALUES (%s, %s, 'stored', md5(%s), %s, 'image/jpeg', 64, 48, 1, now())",
            [(r, url, r, key) for r, url, key in images],
        )
        for canonical, members in groups.items():
            cursor.execute(
                "UPDATE heritage.objects SET canonical_id = %s WHERE record_id = ANY(%s)",
                (canonical, members),
            )
            for member in members[1:]:
                low, high = sorted((canonical, member))
                cursor.execute(
                    "INSERT INTO heritage.duplicate_pairs VALUES (%s, %s, 3, 0.97, 0.93, 'both') "
                    "ON CONFLICT DO NOTHING",
                    (low, high),
                )
        cursor.execute(
            "UPDATE heritage.objects SET canonical_id = record_id WHERE canonical_id IS NULL"
        )
        for rank, similar in enumerate(valid[1:4], start=1):
            cursor.execute(
                "INSERT INTO heritage.similar_objects VALUES (%s, %s, %s, %s)",
                (valid[0], rank, similar, 0.9 - rank / 10),
            )
    connection.close()
    return groups


def publish_every_object(settings: Settings, database: str) -> None:
    """Every exported object published, as the publication stage's export would leave open
    records after their first evaluation: the explorer lists only published objects."""
    with connect(settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO heritage.embargoes (object_id, episode, state, state_version, "
            "embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, data_provider, "
            "updated_at) "
            "SELECT record_id, 1, 'published', 4, '1970-01-01T00:00:00Z', '', 'UTC', 'none', "
            "rights_uri, data_provider, now() FROM heritage.objects "
            "ON CONFLICT (object_id) DO UPDATE SET state = 'published'"
        )
    connection.close()


def publish_annotations(settings: Settings, layout: LakehouseLayout, target: str) -> None:
    producer = create_producer(settings)
    ledger = PublishLedger(layout.producer_state_dir / "annotations.sqlite")
    items = [
        SourceRecord(
            f"annotation:{n}",
            {
                "annotation_id": f"annotation:{n}",
                "target_record_id": target,
                "kind": kind,
                "body": body,
                "user": "curator-1",
                "created": "2026-11-01T10:00:00Z",
            },
        )
        for n, kind, body in ((1, "tag", "Portrait"), (2, "comment", "Compare the Louvre copy."))
    ]
    try:
        publish_envelopes(
            producer,
            ledger,
            layout.annotations_topic,
            envelopes_from("annotations", items),
            progress=False,
        )
    finally:
        producer.close()
        ledger.close()
