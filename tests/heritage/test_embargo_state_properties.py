"""The embargo state machine under any history (``pytest -m fuzz``): evaluations at instants
that go forwards and backwards, curator decisions made on current and stale versions, and a
source that changes its end, rights and death year at will.

The properties: nothing is published except out of review by a rights check that clears it
(or a curator's clear), and never before its end; replaying the events, twice or in any
order, rebuilds the states; evaluating or syncing again at the same instant emits nothing;
event ids are unique over the whole history and a rerun of a call gives the same events.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default); the seed is fixed.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage.embargo_states import (
    NO_EMBARGO_END,
    CuratorDecision,
    EmbargoEvent,
    EmbargoInputs,
    EmbargoState,
    apply_event,
    evaluate,
    replay,
    sync_inputs,
)
from heritage.embargo_time import EmbargoEnd, embargo_end, is_expired
from heritage.publication_settings import PublicationPolicy
from heritage.rights_clearance import CURATOR, OPEN_STATEMENT, STATUTORY_TERM

pytestmark = [pytest.mark.fuzz, pytest.mark.zones]

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MICROSECOND = timedelta(microseconds=1)
START = datetime(2030, 1, 1, tzinfo=UTC)
OBJECTS = ("lido:a", "oai:b")
ENDS = (
    embargo_end("2030-03-31", "Europe/Amsterdam"),
    embargo_end("2030-10-27", "Europe/Amsterdam"),
    embargo_end("2030-12-31", "Pacific/Kiritimati"),
    embargo_end("2030-12-31", "Pacific/Pago_Pago"),
    embargo_end("2031-06", "Europe/Amsterdam"),
    embargo_end("2030-06-15T12:00:00.000001Z", "UTC"),
)
# Instants on and next to every end, so that the boundaries are hit, not only approached.
EDGES = tuple(end.end_utc + step * MICROSECOND for end in ENDS for step in (-1, 0, 1))
RIGHTS = (
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "https://creativecommons.org/licenses/by/4.0/deed.de",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "http://rightsstatements.org/vocab/InC-EDU/1.0/",
    "http://rightsstatements.org/vocab/CNE/1.0/",
    "http://creativecommons.org/licenses/by-nc/4.0/",
    "not a statement",
    None,
)
POLICIES = tuple(
    PublicationPolicy(auto_clear_open=auto, statutory_action=action, statutory_years=years)
    for auto in (True, False)
    for action in ("clear", "review")
    for years in (70, 90)
)

# An object, its end (None: no embargo), rights, data provider and creator's death year.
SourceValues = tuple[str, EmbargoEnd | None, str | None, str | None, int | None]
Operation = tuple[Any, ...]

instants = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=-86_400 * 400, max_value=86_400 * 900).map(
        lambda seconds: START + timedelta(seconds=seconds)
    ),
)
ends = st.sampled_from(ENDS)


def source_values(object_id: str) -> st.SearchStrategy[SourceValues]:
    return st.tuples(
        st.just(object_id),
        st.one_of(st.none(), ends),
        st.sampled_from(RIGHTS),
        st.sampled_from(("Rijks", "Nationaal Archief", None)),
        st.sampled_from((None, 1900, 1950, 1959, 1960, 2000)),
    )


# Both objects are registered at the start; then anything happens to either.
registrations = st.tuples(*(source_values(object_id) for object_id in OBJECTS))
evaluation = st.tuples(
    st.just("evaluate"), st.sampled_from(OBJECTS), instants, st.sampled_from(POLICIES)
)
operations = st.lists(
    st.one_of(
        evaluation,
        evaluation,
        st.tuples(st.just("source"), st.sampled_from(OBJECTS).flatmap(source_values), instants),
        st.tuples(st.just("clear"), st.sampled_from(OBJECTS), st.integers(-1, 1), st.just(None)),
        st.tuples(st.just("re_embargo"), st.sampled_from(OBJECTS), st.integers(-1, 1), ends),
    ),
    max_size=40,
)


def embargo_inputs(values: SourceValues) -> EmbargoInputs:
    object_id, end, rights, provider, death = values
    if end is None:
        return EmbargoInputs(object_id, "", "UTC", "none", NO_EMBARGO_END, rights, provider, death)
    return EmbargoInputs(
        object_id, end.verbatim, end.zone, end.rule.value, end.end_utc, rights, provider, death
    )


@dataclass
class History:
    """What a run of operations produced: every event, the states, what each call gave."""

    events: list[EmbargoEvent] = field(default_factory=list)
    states: dict[str, EmbargoState] = field(default_factory=dict)
    waiting: list[CuratorDecision] = field(default_factory=list)
    decided: int = 0

    def record(self, events: list[EmbargoEvent]) -> None:
        for event in events:
            self.states[event.object_id] = apply_event(self.states.get(event.object_id), event)
        self.events += events

    def sync(self, item: EmbargoInputs, as_of: datetime) -> None:
        current = self.states.get(item.object_id)
        events = sync_inputs(current, item, as_of)
        assert sync_inputs(current, item, as_of) == events  # a rerun gives the same events
        self.record(events)
        assert sync_inputs(self.states[item.object_id], item, as_of) == []

    def evaluate(self, object_id: str, as_of: datetime, policy: PublicationPolicy) -> None:
        current = self.states.get(object_id)
        if current is None:
            return
        decisions = [d for d in self.waiting if d.object_id == object_id]
        events = evaluate(current, as_of, policy, decisions)
        assert evaluate(current, as_of, policy, decisions) == events
        self.record(events)
        assert evaluate(self.states[object_id], as_of, policy, decisions) == []
        applied = [e.decision_id for e in events if e.decision_id is not None]
        # As the publication stage does: decisions up to the last one applied are done.
        if applied:
            self.waiting = [
                d for d in self.waiting if d.object_id != object_id or d.decision_id > max(applied)
            ]

    def decide(self, object_id: str, kind: str, drift: int, end: EmbargoEnd | None) -> None:
        current = self.states.get(object_id)
        seen = (current.state_version if current else 0) + drift
        self.decided += 1
        self.waiting.append(CuratorDecision(self.decided, object_id, kind, end, seen, "ana", None))


def run(first: tuple[SourceValues, ...], operations: list[Operation]) -> History:
    history = History()
    for values in first:
        history.sync(embargo_inputs(values), START)
    for operation in operations:
        kind = operation[0]
        if kind == "evaluate":
            history.evaluate(operation[1], operation[2], operation[3])
        elif kind == "source":
            history.sync(embargo_inputs(operation[1]), operation[2])
        else:
            history.decide(operation[1], kind, operation[2], operation[3])
    return history


ALLOWED = {
    (None, "active"),
    ("active", "active"),
    ("active", "expired"),
    ("expired", "expired"),
    ("expired", "pending_review"),
    ("expired", "active"),
    ("pending_review", "pending_review"),
    ("pending_review", "published"),
    ("pending_review", "active"),
    ("published", "published"),
    ("published", "active"),
}


@FUZZ
@given(first=registrations, steps=operations)
def test_nothing_is_published_except_out_of_review_by_a_check_that_clears(
    first: tuple[SourceValues, ...],
    steps: list[Operation],
) -> None:
    history = run(first, steps)
    reviewed: set[tuple[str, int]] = set()
    for event in history.events:
        assert (event.from_state, event.to_state) in ALLOWED
        if (event.from_state, event.to_state) == ("expired", "pending_review"):
            assert event.actor == "evaluator" and event.rights_check is not None
            reviewed.add((event.object_id, event.episode))
        if event.to_state != "published" or event.from_state == "published":
            continue
        assert event.from_state == "pending_review"
        assert (event.object_id, event.episode) in reviewed
        assert is_expired(event.as_of, event.embargo_end_utc)
        check = json.loads(event.rights_check or "null")
        assert check["verdict"] == "cleared"
        if event.actor == "evaluator":
            assert check["rule"] in (OPEN_STATEMENT, STATUTORY_TERM) and event.decision_id is None
        else:
            assert event.actor == check["cleared_by"] and check["rule"] == CURATOR
            assert event.decision_id is not None


@FUZZ
@given(first=registrations, steps=operations, order=st.randoms(use_true_random=False))
def test_replaying_the_events_rebuilds_the_states(
    first: tuple[SourceValues, ...],
    steps: list[Operation],
    order: random.Random,
) -> None:
    history = run(first, steps)
    assert replay(history.events) == history.states
    assert replay(history.events + history.events) == history.states
    shuffled = list(history.events)
    order.shuffle(shuffled)
    assert replay(shuffled) == history.states
    for state in history.states.values():
        last = max(
            (e for e in history.events if e.object_id == state.object_id),
            key=lambda e: e.to_version,
        )
        assert state.updated_at == last.as_of and state.state_version == last.to_version


@FUZZ
@given(first=registrations, steps=operations)
def test_event_ids_are_unique_over_the_whole_history(
    first: tuple[SourceValues, ...],
    steps: list[Operation],
) -> None:
    history = run(first, steps)
    ids = [event.event_id for event in history.events]
    assert len(set(ids)) == len(ids)
    versions = [(event.object_id, event.from_version) for event in history.events]
    assert len(set(versions)) == len(versions)
    assert [e.event_id for e in run(first, steps).events] == ids
