"""Removing an isolated namespace (benchmarks, tests, abandoned replays) from every store."""

from __future__ import annotations

from kafka import KafkaAdminClient
from minio.deleteobjects import DeleteObject

from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.postgres_db import connect
from heritage.settings import Settings


def drop_namespace(settings: Settings, layout: LakehouseLayout) -> None:
    """Delete the namespace's objects, topics and database. Never the product's own."""

    client = object_store_client(settings)
    if layout == LakehouseLayout.default(settings) or "/ns/" not in layout.table_root:
        raise ValueError("drop_namespace: refusing to delete the product's own tables")
    prefix = layout.table_root.removeprefix(f"s3a://{settings.bucket}/") + "/"
    objects = client.list_objects(settings.bucket, prefix=prefix, recursive=True)
    errors = list(
        client.remove_objects(
            settings.bucket, (DeleteObject(o.object_name) for o in objects if o.object_name)
        )
    )
    if errors:
        print(f"cleanup: {len(errors)} objects under {prefix} could not be removed")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        topics = (
            layout.records_topic,
            layout.annotations_topic,
            layout.ingest_events_topic,
            layout.publication_topic,
        )
        doomed = [t for t in topics if t in existing]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()
    connection = connect(settings, "postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{layout.pg_database}" WITH (FORCE)')
    connection.close()
