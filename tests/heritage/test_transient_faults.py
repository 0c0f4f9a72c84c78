"""Which errors are a service that is down, which service, and how long to wait for it.

The errors are real: psycopg2's and urllib3's from connecting to a port where nothing
listens (or to a socket that hangs up, as a server that dies does), kafka-python's and
py4j's constructed with the messages they carry, and the JVM's texts as Spark 4 and
hadoop-aws 3.5 reported them for an unreachable object store and broker. The tests marked
integration take them from a live Spark session and a live PostgreSQL.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import psycopg2
import pytest
import urllib3
from kafka.errors import KafkaTimeoutError
from pyspark.sql import SparkSession

from heritage.object_store import object_store_client
from heritage.postgres_db import connect, transaction
from heritage.settings import Settings
from heritage.transient_faults import (
    DEFAULT_GIVE_UP_S,
    GIVE_UP_VARIABLE,
    KAFKA,
    OBJECT_STORE,
    POSTGRESQL,
    UNKNOWN_SERVICE,
    Outage,
    RetryPolicy,
    ServiceEndpoints,
    ServiceUnreachable,
    TransientFault,
    backoff_s,
    classify_fault,
    classify_text,
    give_up_after_from,
)

ENDPOINTS = ServiceEndpoints(
    postgresql="127.0.0.1:15432",
    kafka="127.0.0.1:19092",
    object_store="http://127.0.0.1:19000",
)

# What Spark 4.2 with hadoop-aws 3.5.0 said when the object store's port refused connections
# (a Delta write; the py4j error's text, stack frames left out).
S3A_REFUSED = (
    "An error occurred while calling o102.parquet.\n"
    ": java.net.ConnectException: getFileStatus on s3a://heritage/out: "
    "software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: "
    "Connect to 127.0.0.1:19000 [/127.0.0.1] failed: Connection refused (SDK Attempt Count: 3):"
    "    software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP "
    "request: Connect to 127.0.0.1:19000 [/127.0.0.1] failed: Connection refused "
    "(SDK Attempt Count: 3): Connection refused\n"
    "\tat org.apache.hadoop.fs.s3a.S3AUtils.translateException(S3AUtils.java:213)\n"
)
# A Kafka source whose broker is down: a batch read, and a streaming query's failure (its
# description; the broker's address appears in neither).
KAFKA_BATCH_TIMEOUT = (
    "An error occurred while calling o117.count.\n"
    ": java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.TimeoutException:"
    " Timed out waiting for a node assignment. Call: listNodes\n"
    "\tat java.base/java.util.concurrent.CompletableFuture.reportGet(CompletableFuture.java:396)\n"
)
KAFKA_QUERY_FAILED = (
    "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment."
    " Call: listNodes\n=== Streaming Query ===\n"
    "Identifier: [id = 028ef190-d10d-483f-ac3d-ce72a30a4ae1, runId = 9788759b-6681]\n"
    "Current Committed Offsets: {}\nCurrent Available Offsets: {}\n\n"
    "Logical Plan:\nWriteToMicroBatchDataSource s3a://heritage/tables/raw_records\n"
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def hanging_up_server() -> Iterator[int]:
    """A port whose server accepts a connection and closes it at once, as a database that
    is going down does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        done.set()
        thread.join()
        server.close()


def postgres_error(port: int) -> psycopg2.OperationalError:
    try:
        psycopg2.connect(host="127.0.0.1", port=port, dbname="x", user="x", connect_timeout=5)
    except psycopg2.OperationalError as error:
        return error
    raise AssertionError("connected to a port where nothing listens")


def test_a_refused_postgresql_connection_names_the_database_and_its_address() -> None:
    port = closed_port()
    endpoints = replace(ENDPOINTS, postgresql=f"127.0.0.1:{port}")
    fault = classify_fault(postgres_error(port), endpoints)
    assert fault is not None
    assert (fault.service, fault.endpoint) == (POSTGRESQL, f"127.0.0.1:{port}")
    assert "Connection refused" in fault.message
    assert fault.retry_line(8) == f"PostgreSQL unreachable at 127.0.0.1:{port}; retrying in 8 s"


def test_a_server_that_hangs_up_is_a_transient_postgresql_fault() -> None:
    with hanging_up_server() as port:
        error = postgres_error(port)
    assert "server closed the connection unexpectedly" in str(error)
    fault = classify_fault(error, ENDPOINTS)
    assert fault is not None and fault.service == POSTGRESQL


def test_the_real_error_behind_a_masking_one_is_found_in_the_chain() -> None:
    port = closed_port()
    try:
        try:
            raise postgres_error(port)
        except psycopg2.OperationalError:
            raise psycopg2.InterfaceError("connection already closed") from None
    except psycopg2.InterfaceError as masking:
        masked = masking
    # `from None` hides the context from tracebacks, but it is still there to be found.
    fault = classify_fault(masked, ENDPOINTS)
    assert fault is not None and fault.service == POSTGRESQL


def test_postgresql_errors_that_are_not_about_reaching_it_are_not_transient() -> None:
    assert (
        classify_fault(psycopg2.errors.UndefinedTable("relation x does not exist"), ENDPOINTS)
        is None
    )
    authentication = psycopg2.OperationalError(
        'connection to server at "127.0.0.1", port 15432 failed: FATAL:  password '
        'authentication failed for user "heritage_admin"'
    )
    assert classify_fault(authentication, ENDPOINTS) is None


def test_kafka_without_a_broker_names_the_bootstrap_servers() -> None:
    error = KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:19092")
    fault = classify_fault(error, ENDPOINTS)
    assert fault == TransientFault(KAFKA, "127.0.0.1:19092", str(error))


def test_a_refused_object_store_request_names_the_store_by_its_address() -> None:
    port = closed_port()
    endpoints = replace(ENDPOINTS, object_store=f"http://127.0.0.1:{port}")
    pool = urllib3.PoolManager(retries=urllib3.Retry(total=0))
    with pytest.raises(urllib3.exceptions.MaxRetryError) as raised:
        pool.request("GET", f"http://127.0.0.1:{port}/heritage")
    fault = classify_fault(raised.value, endpoints)
    assert fault is not None
    assert (fault.service, fault.endpoint) == (OBJECT_STORE, f"http://127.0.0.1:{port}")


def test_a_refused_request_to_another_host_is_transient_but_not_named() -> None:
    port = closed_port()
    pool = urllib3.PoolManager(retries=urllib3.Retry(total=0))
    with pytest.raises(urllib3.exceptions.MaxRetryError) as raised:
        pool.request("GET", f"http://127.0.0.1:{port}/")
    fault = classify_fault(raised.value, ENDPOINTS)
    assert fault is not None
    assert (fault.service, fault.endpoint) == (UNKNOWN_SERVICE, f"http://127.0.0.1:{port}")


def test_a_socket_error_takes_its_service_from_the_rest_of_the_chain() -> None:
    port = closed_port()
    with (
        pytest.raises(ConnectionRefusedError) as refused,
        socket.create_connection(("127.0.0.1", port)),
    ):
        pass
    try:
        raise RuntimeError("publishing to Kafka failed") from refused.value
    except RuntimeError as error:
        wrapped = error
    fault = classify_fault(wrapped, ENDPOINTS)
    assert fault is not None and (fault.service, fault.endpoint) == (KAFKA, "127.0.0.1:19092")
    alone = classify_fault(refused.value, ENDPOINTS)
    assert alone is not None and alone.service == UNKNOWN_SERVICE
    assert alone.retry_line(2.5) == f"a service unreachable ({alone.message}); retrying in 2.5 s"


def test_an_unreachable_object_store_in_spark_is_named_by_its_address() -> None:
    fault = classify_text(S3A_REFUSED, ENDPOINTS)
    assert fault is not None
    assert (fault.service, fault.endpoint) == (OBJECT_STORE, "http://127.0.0.1:19000")
    assert "Connection refused" in fault.message


def test_a_kafka_timeout_in_spark_is_the_broker_even_beside_an_s3a_path() -> None:
    for text in (KAFKA_BATCH_TIMEOUT, KAFKA_QUERY_FAILED):
        fault = classify_text(text, ENDPOINTS)
        assert fault is not None
        assert (fault.service, fault.endpoint) == (KAFKA, "127.0.0.1:19092")


def test_a_postgresql_error_raised_inside_a_spark_batch_is_named_by_its_address() -> None:
    text = (
        "An exception was thrown from the Python worker.\n"
        "Traceback (most recent call last):\n"
        '  File "export.py", line 12, in handle\n'
        'psycopg2.OperationalError: connection to server at "127.0.0.1", port 15432 failed:'
        " Connection refused\n\tIs the server running on that host and accepting TCP/IP"
        " connections?\n"
    )
    fault = classify_text(text, ENDPOINTS)
    assert fault is not None and (fault.service, fault.endpoint) == (POSTGRESQL, "127.0.0.1:15432")


def test_spark_errors_about_anything_else_are_not_transient() -> None:
    for text in (
        "[PATH_NOT_FOUND] Path does not exist: s3a://heritage/tables/curated.",
        "[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: Files were added",
        # A timeout that names no service of ours: Spark's own, not a service down.
        "java.util.concurrent.TimeoutException: Futures timed out after [300 seconds]",
    ):
        assert classify_text(text, ENDPOINTS) is None
    assert classify_fault(ValueError("invalid literal"), ENDPOINTS) is None


def test_full_jitter_backoff_stays_under_the_doubling_ceiling_and_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(30.0, 1.0 * 2**attempt)
        waits = [backoff_s(attempt, rng) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # spread over the whole range, not clustered
    assert backoff_s(10_000, rng) <= 30.0
    assert [backoff_s(3, random.Random(1)) for _ in range(2)] == [
        backoff_s(3, random.Random(1))
    ] * 2


def test_an_outage_gives_up_at_the_deadline_and_resets_after_a_success() -> None:
    fault = TransientFault(POSTGRESQL, "127.0.0.1:15432", "Connection refused")
    outage = Outage(RetryPolicy(give_up_after_s=10), random.Random(3))
    now = 100.0
    waits = []
    while True:
        try:
            wait = outage.next_wait(fault, now)
        except ServiceUnreachable as error:
            assert str(error) == (
                "PostgreSQL at 127.0.0.1:15432 unreachable for 10 s; "
                "start it (`heritage services up`) and rerun"
            )
            break
        waits.append(wait)
        now += wait + 0.5  # the try itself takes a moment
    assert now >= 110.0
    assert now - 100.0 - 0.5 * len(waits) <= 10.0 + 1e-9  # no wait runs past the deadline
    outage.succeeded()
    assert not outage.ongoing
    assert outage.next_wait(fault, 1000.0) <= 1.0  # a new outage starts from the first backoff


def test_giving_up_on_an_unnamed_service_says_what_it_was() -> None:
    fault = TransientFault(UNKNOWN_SERVICE, "", "[Errno 111] Connection refused")
    assert fault.give_up_line(900) == (
        "a service unreachable for 900 s ([Errno 111] Connection refused); "
        "check the services (`heritage services status`) and rerun"
    )


def test_the_give_up_deadline_comes_from_the_option_then_the_environment(
    offline_settings: Settings,
) -> None:
    assert give_up_after_from(offline_settings) == DEFAULT_GIVE_UP_S
    from_env = replace(offline_settings, environment={GIVE_UP_VARIABLE: "120"})
    assert give_up_after_from(from_env) == 120.0
    assert give_up_after_from(from_env, 5.0) == 5.0
    with pytest.raises(ValueError, match=GIVE_UP_VARIABLE):
        give_up_after_from(replace(offline_settings, environment={GIVE_UP_VARIABLE: "soon"}))


@pytest.mark.integration
def test_spark_reports_an_unreachable_object_store_in_seconds_as_a_transient_fault(
    spark: SparkSession,
) -> None:
    port = closed_port()
    key = "fs.s3a.bucket.nowhere.endpoint"  # only this bucket: the session's others are live
    spark.sparkContext._jsc.hadoopConfiguration().set(key, f"http://127.0.0.1:{port}")
    spark.conf.set(key, f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        spark.range(3).write.mode("overwrite").parquet("s3a://nowhere/out")
    took = time.monotonic() - started
    assert type(raised.value).__name__ == "Py4JJavaError"  # the writer's calls are not wrapped
    fault = classify_fault(
        raised.value, replace(ENDPOINTS, object_store=f"http://127.0.0.1:{port}")
    )
    assert fault is not None
    assert (fault.service, fault.endpoint) == (OBJECT_STORE, f"http://127.0.0.1:{port}")
    # With Hadoop's retry defaults this took half a minute (spark_session.S3A_RETRY_CONF).
    assert took < 20, took


@pytest.mark.integration
def test_a_broken_connection_raises_its_own_error_not_the_rollbacks(
    live_settings: Settings,
) -> None:
    victim = connect(live_settings)
    killer = connect(live_settings)
    killer.autocommit = True
    try:
        with victim.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone() or (None,)
        with pytest.raises(psycopg2.OperationalError) as raised:  # noqa: SIM117
            with transaction(victim), victim.cursor() as cursor:
                cursor.execute("SELECT 1")
                with killer.cursor() as other:
                    other.execute("SELECT pg_terminate_backend(%s)", (pid,))
                cursor.execute("SELECT 2")
    finally:
        victim.close()
        killer.close()
    assert "server closed the connection unexpectedly" in str(raised.value)
    port_endpoints = replace(
        ENDPOINTS, postgresql=f"{live_settings.pg_host}:{live_settings.pg_port}"
    )
    fault = classify_fault(raised.value, port_endpoints)
    assert fault is not None and fault.service == POSTGRESQL


def test_the_object_store_client_retries_a_few_times_saying_so_then_fails_as_a_fault(
    offline_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    settings = replace(offline_settings, s3_endpoint=endpoint)
    with (
        caplog.at_level(logging.WARNING, "heritage.object_store"),
        pytest.raises(urllib3.exceptions.MaxRetryError) as raised,
    ):
        object_store_client(settings).bucket_exists("heritage")
    said = [r.getMessage() for r in caplog.records if r.name == "heritage.object_store"]
    assert said == [f"object store at {endpoint} not answering; requests are being retried"] * 3
    fault = classify_fault(raised.value, ServiceEndpoints.from_settings(settings))
    assert fault is not None and (fault.service, fault.endpoint) == (OBJECT_STORE, endpoint)
