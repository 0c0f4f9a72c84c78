"""Every hop real: sample -> Kafka -> raw Delta -> cleansed + dead letters -> PostgreSQL."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_summary import count_tables
from heritage.pipeline import produce_sample, run_stages
from heritage.postgres_db import connect
from heritage.producers.sample_collection import generate_sample_collection
from heritage.settings import Settings

pytestmark = pytest.mark.integration

RECORDS, SEED = 400, 5


def test_sample_travels_every_hop_exactly_once(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    manifest = generate_sample_collection(RECORDS, SEED).manifest
    produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    run_stages(live_settings, layout, spark=spark)

    counts = count_tables(spark, live_settings, layout)
    assert counts.raw_rows == manifest.message_count
    assert counts.cleansed_rows == len(manifest.valid_record_ids)
    assert counts.dead_letter_rows == len(manifest.malformed)
    assert counts.postgres_objects == len(manifest.valid_record_ids)

    cleansed_ids = {
        r[0]
        for r in spark.read.format("delta")
        .load(layout.cleansed_records)
        .select("record_id")
        .collect()
    }
    assert cleansed_ids == manifest.valid_record_ids
    dead = spark.read.format("delta").load(layout.dead_letters)
    assert {r[0] for r in dead.select("record_id").collect()} == set(manifest.malformed)
    assert dead.filter(F.size("reasons") == 0).count() == 0
    assert dead.filter(F.col("kafka_value").isNull()).count() == 0

    with connect(live_settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT record_id, description FROM analytics.objects")
        exported = dict(cursor.fetchall())
    connection.close()
    assert set(exported) == manifest.valid_record_ids
    for record_id in manifest.updated_record_ids:
        assert exported[record_id].endswith("Provenance revised."), record_id

    # A second run: nothing published, no new Delta version, no PostgreSQL change.
    again = produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    assert again.published == 0
    run_stages(live_settings, layout, spark=spark)
    assert count_tables(spark, live_settings, layout) == counts


def test_read_only_role_reads_views_and_cannot_write(live_settings: Settings) -> None:
    import psycopg2

    connection = psycopg2.connect(
        host=live_settings.pg_host,
        port=live_settings.pg_port,
        dbname=live_settings.pg_database,
        user=live_settings.pg_reader_user,
        password=live_settings.pg_reader_password.reveal(),
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM analytics.objects")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute("DELETE FROM heritage.objects")
    finally:
        connection.close()
