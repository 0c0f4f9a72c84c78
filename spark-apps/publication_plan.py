"""Which transitions one publication run makes: pure, over the states it read, what the
sources now say, the curators' decisions and the evaluation instant."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from heritage.embargo_states import (
    CuratorDecision,
    EmbargoEvent,
    EmbargoInputs,
    EmbargoState,
    apply_event,
    evaluate,
    sync_inputs,
)
from heritage.publication_settings import PublicationPolicy


@dataclass(frozen=True)
class Transition:
    """One object's new state, the version it was read at (0: new) and the events between."""

    state: EmbargoState
    base_version: int
    events: Sequence[EmbargoEvent]
    # What the source said last (inputs_json); None if it never said anything.
    source_inputs: str | None = None


_END_FIELDS = ("end_input", "end_input_zone", "end_rule", "embargo_end_utc")


def inputs_json(inputs: EmbargoInputs) -> str:
    """What a source says of an object's embargo and rights, as stored with its state."""
    return json.dumps(asdict(inputs), sort_keys=True, default=lambda v: v.isoformat())


def _ends(text: str | None) -> tuple[object, ...] | None:
    if text is None:
        return None
    said = json.loads(text)
    return tuple(said.get(name) for name in _END_FIELDS)


def _effective(
    state: EmbargoState | None, given: EmbargoInputs, said_before: str | None
) -> EmbargoInputs:
    """What the state takes from the source: all of it, except that an end the source has
    not changed leaves the state's end alone (a curator may have set another)."""
    if state is None or _ends(said_before) != _ends(inputs_json(given)):
        return given
    return replace(given, **{name: getattr(state, name) for name in _END_FIELDS})


def plan_transitions(
    current: Mapping[str, EmbargoState],
    inputs: Iterable[EmbargoInputs],
    decisions: Sequence[CuratorDecision],
    as_of: datetime,
    policy: PublicationPolicy,
    said: Mapping[str, str | None] | None = None,
) -> list[Transition]:
    """The transitions of every object read: first what its source now says (when that
    differs from what it said last, ``said``: inputs_json by object id), then the evaluation
    at ``as_of`` with its decisions; objects that do not change are left out, and decisions
    on objects with no state are ignored."""
    states: dict[str, EmbargoState] = dict(current)
    events: dict[str, list[EmbargoEvent]] = {}
    before = dict(said or {})
    known = dict(before)
    for given in inputs:
        text = inputs_json(given)
        if given.object_id in states and known.get(given.object_id) == text:
            continue
        known[given.object_id] = text
        events.setdefault(given.object_id, [])
        effective = _effective(states.get(given.object_id), given, before.get(given.object_id))
        for event in sync_inputs(states.get(given.object_id), effective, as_of):
            states[given.object_id] = apply_event(states.get(given.object_id), event)
            events.setdefault(given.object_id, []).append(event)
    by_object: dict[str, list[CuratorDecision]] = {}
    for decision in decisions:
        by_object.setdefault(decision.object_id, []).append(decision)
    for object_id in sorted(states):
        for event in evaluate(states[object_id], as_of, policy, by_object.get(object_id, ())):
            states[object_id] = apply_event(states[object_id], event)
            events.setdefault(object_id, []).append(event)
    return [
        Transition(
            state=states[object_id],
            base_version=current[object_id].state_version if object_id in current else 0,
            events=tuple(changes),
            source_inputs=known.get(object_id),
        )
        for object_id, changes in sorted(events.items())
        if changes or known.get(object_id) != before.get(object_id)
    ]
