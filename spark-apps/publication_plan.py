"""Which transitions one publication run makes: pure, over the states it read, what the
sources now say, the curators' decisions and the evaluation instant."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
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
    # Digest of the source inputs the state reflects (inputs_digest); None if never synced.
    source_digest: str | None = None


def inputs_digest(inputs: EmbargoInputs) -> str:
    """A digest of what a source says of an object's embargo and rights."""
    text = json.dumps(asdict(inputs), sort_keys=True, default=lambda v: v.isoformat())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def plan_transitions(
    current: Mapping[str, EmbargoState],
    inputs: Iterable[EmbargoInputs],
    decisions: Sequence[CuratorDecision],
    as_of: datetime,
    policy: PublicationPolicy,
    digests: Mapping[str, str | None] | None = None,
) -> list[Transition]:
    """The transitions of every object read: first what its source now says (when that
    differs from what it said last, ``digests``), then the evaluation at ``as_of`` with its
    decisions; objects that do not change are left out, and decisions on objects with no
    state are ignored."""
    states: dict[str, EmbargoState] = dict(current)
    events: dict[str, list[EmbargoEvent]] = {}
    known = dict(digests or {})
    for given in inputs:
        digest = inputs_digest(given)
        if given.object_id in states and known.get(given.object_id) == digest:
            continue
        known[given.object_id] = digest
        events.setdefault(given.object_id, [])
        for event in sync_inputs(states.get(given.object_id), given, as_of):
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
            source_digest=known.get(object_id),
        )
        for object_id, changes in sorted(events.items())
        if changes or known.get(object_id) != (digests or {}).get(object_id)
    ]
