"""Embargo states and events through Spark rows and back, to the microsecond, whatever the
process's and the Spark session's time zones; and the transitions one run plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from heritage.embargo_states import CuratorDecision, EmbargoInputs, replay
from heritage.embargo_time import embargo_end
from heritage.publication_settings import PublicationPolicy
from heritage.spark_apps.embargo_rows import (
    events_json,
    instant,
    micros,
    outbox_events,
    read_states,
    state_rows,
)
from heritage.spark_apps.publication_plan import plan_transitions

pytestmark = pytest.mark.zones

POLICY = PublicationPolicy(institution_zone="Europe/Amsterdam")
END = embargo_end("2030-03-31", "Europe/Amsterdam")  # a DST day: ends 2030-03-31T22:00Z


def inputs(object_id: str, rights: str | None, end: datetime = END.end_utc) -> EmbargoInputs:
    return EmbargoInputs(
        object_id=object_id,
        end_input=END.verbatim,
        end_input_zone=END.zone,
        end_rule=END.rule.value,
        embargo_end_utc=end,
        rights_uri=rights,
        data_provider="Rijksmuseum",
        creator_death_year=None,
    )


def test_micros_are_exact_and_refuse_naive_instants() -> None:
    moment = datetime(2030, 3, 31, 21, 59, 59, 999_999, tzinfo=UTC)
    assert instant(micros(moment)) == moment
    assert micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    with pytest.raises(ValueError, match="no time zone"):
        micros(datetime(2030, 1, 1))


def test_states_and_their_outbox_survive_spark_rows(spark: SparkSession) -> None:
    just_before = END.end_utc - timedelta(microseconds=1)
    planned = plan_transitions(
        {},
        [inputs("a", "http://creativecommons.org/publicdomain/zero/1.0/"), inputs("b", None)],
        (),
        just_before,
        POLICY,
    )
    assert [t.state.state for t in planned] == ["active", "active"]
    frame = state_rows(spark, planned).cache()
    states, said = read_states(frame)
    assert {s.object_id: s for s in states} == {t.state.object_id: t.state for t in planned}
    assert said == {t.state.object_id: t.source_inputs for t in planned}
    assert states[0].embargo_end_utc == datetime(2030, 3, 31, 22, 0, tzinfo=UTC)
    created = datetime(2030, 3, 31, 21, 0, tzinfo=UTC)
    events = outbox_events(frame, "run-1", created).selectExpr(
        "event_id", "unix_micros(as_of) AS as_of", "unix_micros(created_at) AS created_at"
    )
    assert sorted(events.collect()) == sorted(
        (e.event_id, micros(just_before), micros(created)) for t in planned for e in t.events
    )
    assert events_json(planned[0].events).startswith("[{")


def test_a_rewritten_record_does_not_undo_a_curator() -> None:
    first = plan_transitions({}, [inputs("a", None)], (), END.end_utc, POLICY)
    (registered,) = first
    assert registered.state.state == "pending_review"
    later = embargo_end("2040-01-01", "Europe/Amsterdam")
    decision = CuratorDecision(
        decision_id=7,
        object_id="a",
        decision="re_embargo",
        embargo=later,
        seen_version=registered.state.state_version,
        decided_by="curator-a",
        note=None,
    )
    current = {"a": registered.state}
    said = {"a": registered.source_inputs}
    (decided,) = plan_transitions(current, (), [decision], END.end_utc, POLICY, said)
    assert (decided.state.state, decided.state.episode) == ("active", 2)
    # Curate writes the record again (an annotation, say): the source still says the same.
    again = plan_transitions(
        {"a": decided.state}, [inputs("a", None)], (), END.end_utc, POLICY, said
    )
    assert again == []
    history = [*registered.events, *decided.events]
    assert replay(history)["a"] == decided.state

    # The source changes the rights only: the curator's end holds.
    open_rights = inputs("a", "http://creativecommons.org/publicdomain/zero/1.0/")
    later_on = datetime(2031, 1, 1, tzinfo=UTC)
    (amended,) = plan_transitions({"a": decided.state}, [open_rights], (), later_on, POLICY, said)
    assert amended.state.state == "active"
    assert amended.state.embargo_end_utc == later.end_utc
    assert amended.state.rights_uri == open_rights.rights_uri
    # The source sends a new end of its own: that one applies.
    own_end = inputs("a", open_rights.rights_uri, datetime(2035, 1, 1, tzinfo=UTC))
    said = {"a": amended.source_inputs}
    (moved,) = plan_transitions({"a": amended.state}, [own_end], (), later_on, POLICY, said)
    assert moved.state.embargo_end_utc == datetime(2035, 1, 1, tzinfo=UTC)
