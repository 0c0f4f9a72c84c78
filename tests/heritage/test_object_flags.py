"""The flags the schema's triggers keep on heritage.objects: published follows
heritage.embargoes (whichever of the two rows is written first, through upserts of either, an
embargo that leaves publication and one removed), has_duplicates follows the duplicate groups
(records joining, leaving and removed); a database of an earlier release gets both flags of the
objects it already holds."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from heritage.postgres_db import apply_schema, connect
from heritage.settings import Settings
from heritage.spark_apps.objects_export import EMBARGOES_LOCK

pytestmark = pytest.mark.integration

OBJECT = (
    "INSERT INTO heritage.objects (record_id, source, title, object_type, rights_uri,"
    " data_provider, content_hash, ingested_at, delta_version) VALUES (%s, 'europeana', %s,"
    " 'IMAGE', 'http://creativecommons.org/publicdomain/mark/1.0/', 'P', 'h', now(), 1)"
    " ON CONFLICT (record_id) DO UPDATE SET title = EXCLUDED.title"
)
EMBARGO = (
    "INSERT INTO heritage.embargoes (object_id, episode, state, state_version, embargo_end_utc,"
    " end_input, end_input_zone, end_rule, updated_at) VALUES (%s, 1, %s, 1,"
    " '1970-01-01T00:00:00Z', '', 'UTC', 'none', now())"
    " ON CONFLICT (object_id) DO UPDATE SET state = EXCLUDED.state"
)
FLAGS = "SELECT record_id, published FROM analytics.objects ORDER BY record_id"
GROUPED = "SELECT record_id, has_duplicates FROM analytics.objects ORDER BY record_id"
GROUP = (
    "INSERT INTO heritage.objects (record_id, source, title, object_type, rights_uri,"
    " data_provider, content_hash, ingested_at, delta_version, canonical_id) VALUES"
    " (%s, 'europeana', 't', 'IMAGE', 'http://creativecommons.org/publicdomain/mark/1.0/', 'P',"
    " 'h', now(), 1, %s) ON CONFLICT (record_id) DO UPDATE SET canonical_id = EXCLUDED.canonical_id"
)


@pytest.fixture
def database(live_settings: Settings) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}_published"
    apply_schema(live_settings, name)
    yield name
    connection = connect(live_settings, "postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def run(settings: Settings, database: str, *statements: tuple[str, tuple[object, ...]]) -> None:
    with connect(settings, database) as connection, connection.cursor() as cursor:
        for text, params in statements:
            cursor.execute(text, params)
    connection.close()


def flags(settings: Settings, database: str, query: str = FLAGS) -> dict[str, bool]:
    with connect(settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        rows = dict(cursor.fetchall())
    connection.close()
    return rows


def waits_for_a_published_embargo_then_runs(
    settings: Settings, database: str, action: Callable[[], None]
) -> None:
    """``action`` in a second thread while an embargo row of "r" (published) is written
    and not yet committed: it must wait for that write, and finish once it commits."""
    embargo_writer = connect(settings, database)
    with embargo_writer.cursor() as cursor:
        cursor.execute(EMBARGO, ("r", "published"))  # not committed yet
    done = threading.Event()

    def act() -> None:
        action()
        done.set()

    worker = threading.Thread(target=act)
    worker.start()
    assert not done.wait(1.0)  # waits for the embargo writer
    embargo_writer.commit()
    embargo_writer.close()
    worker.join(60)
    assert done.is_set()


def test_the_flag_follows_the_embargo_state_whichever_row_comes_first(
    live_settings: Settings, database: str
) -> None:
    run(
        live_settings,
        database,
        (EMBARGO, ("a", "published")),  # the state before the object
        (OBJECT, ("a", "A")),
        (OBJECT, ("b", "B")),  # the object before its state
        (OBJECT, ("c", "C")),  # no state yet: not published
        (EMBARGO, ("b", "published")),
    )
    assert flags(live_settings, database) == {"a": True, "b": True, "c": False}

    run(
        live_settings,
        database,
        (OBJECT, ("a", "A, revised")),  # the export's upsert keeps the flag
        (EMBARGO, ("b", "active")),  # re-embargoed
        (EMBARGO, ("c", "pending_review")),
    )
    assert flags(live_settings, database) == {"a": True, "b": False, "c": False}

    run(
        live_settings,
        database,
        (EMBARGO, ("c", "published")),
        ("DELETE FROM heritage.embargoes WHERE object_id = %s", ("a",)),
    )
    assert flags(live_settings, database) == {"a": False, "b": False, "c": True}


def test_has_duplicates_follows_the_groups_as_records_join_leave_and_go(
    live_settings: Settings, database: str
) -> None:
    run(
        live_settings,
        database,
        (GROUP, ("a", "a")),
        (GROUP, ("b", "a")),  # joins a's group: both are flagged
        (GROUP, ("c", "c")),
        (GROUP, ("d", None)),
    )
    assert flags(live_settings, database, GROUPED) == {"a": True, "b": True, "c": False, "d": False}

    run(live_settings, database, (GROUP, ("b", "c")))  # moves to c's group
    assert flags(live_settings, database, GROUPED) == {"a": False, "b": True, "c": True, "d": False}

    run(
        live_settings,
        database,
        (GROUP, ("d", "c")),
        ("DELETE FROM heritage.objects WHERE record_id = %s", ("b",)),
    )
    assert flags(live_settings, database, GROUPED) == {"a": False, "c": True, "d": True}

    run(live_settings, database, (GROUP, ("d", None)))  # no group at all
    assert flags(live_settings, database, GROUPED) == {"a": False, "c": False, "d": False}

    # Changing the published flag leaves the groups as they are.
    run(live_settings, database, (GROUP, ("e", "a")), (EMBARGO, ("e", "published")))
    assert flags(live_settings, database, GROUPED)["a"] is True


def test_a_database_of_an_earlier_release_gets_the_flags_of_its_objects(
    live_settings: Settings, database: str
) -> None:
    run(
        live_settings,
        database,
        ("DROP TRIGGER objects_published_on_insert ON heritage.objects", ()),
        ("DROP TRIGGER embargoes_inserted_publish ON heritage.embargoes", ()),
        ("DROP TRIGGER objects_inserted_regroup ON heritage.objects", ()),
        (GROUP, ("a", "a")),
        (GROUP, ("b", "a")),
        (EMBARGO, ("a", "published")),
        (EMBARGO, ("b", "pending_review")),
    )
    # Nothing derived them.
    assert flags(live_settings, database) == {"a": False, "b": False}
    assert flags(live_settings, database, GROUPED) == {"a": False, "b": False}

    apply_schema(live_settings, database)
    assert flags(live_settings, database) == {"a": True, "b": False}
    assert flags(live_settings, database, GROUPED) == {"a": True, "b": True}


def test_an_object_exported_while_its_embargo_is_written_is_published_once_both_commit(
    live_settings: Settings, database: str
) -> None:
    def export() -> None:  # as the objects export applies its staged rows
        run(live_settings, database, (EMBARGOES_LOCK, ()), (OBJECT, ("r", "R")))

    waits_for_a_published_embargo_then_runs(live_settings, database, export)
    assert flags(live_settings, database) == {"r": True}


def test_an_embargo_written_while_an_earlier_release_is_upgraded_is_flagged_once_both_commit(
    live_settings: Settings, database: str
) -> None:
    run(
        live_settings,
        database,
        ("DROP TRIGGER objects_published_on_insert ON heritage.objects", ()),
        ("DROP TRIGGER embargoes_inserted_publish ON heritage.embargoes", ()),
        ("DROP TRIGGER embargoes_updated_publish ON heritage.embargoes", ()),
        ("DROP TRIGGER embargoes_deleted_unpublish ON heritage.embargoes", ()),
        (OBJECT, ("r", "R")),
    )
    # The earlier release's publication writes while the schema is upgraded.
    waits_for_a_published_embargo_then_runs(
        live_settings, database, lambda: apply_schema(live_settings, database)
    )
    assert flags(live_settings, database) == {"r": True}
