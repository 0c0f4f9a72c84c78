"""The embargo of one object as a state machine whose every transition is an event:
``active -> expired -> pending_review -> published``, or back to ``active`` in a new episode
(a re-embargo). Pure: no I/O, no clock; "now" is always the ``as_of`` a call is given.

- An expired embargo never publishes directly: it enters ``pending_review``, whose entry is
  the rights check (heritage.rights_clearance), and only a check that clears, or a curator's
  "clear", publishes. Expiry is only ever :func:`heritage.embargo_time.is_expired`, and every
  step forward out of ``active`` needs it at ``as_of``, so an evaluation given an instant
  before the end (a rerun, a backfill) never advances an object towards publication.
- ``published`` is terminal for the episode: a new end the source sends for a published
  object is noted for a curator, and only a curator's ``re_embargo`` starts a new episode.
- Every event carries the whole state after it, with ``state_version`` +1 per transition
  (the optimistic-concurrency token) and an id derived from the object, the episode before
  the transition, the version it starts from and the state it goes to: a rerun of the same
  transition gets the same id, and ``as_of`` is not part of it.
- :func:`replay` folds events into states, ignoring duplicates, so a consumer that sees an
  event twice or out of order rebuilds the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from heritage.embargo_time import EmbargoEnd, is_expired
from heritage.publication_settings import PublicationPolicy
from heritage.rights_clearance import check_rights, curator_clearance

STATES = ("active", "expired", "pending_review", "published")
ACTIVE, EXPIRED, PENDING_REVIEW, PUBLISHED = STATES
# The end recorded for an object whose source sends no embargo: long expired, so the object
# goes through expiry and the rights check in its first evaluation like any other.
NO_EMBARGO_END = datetime(1970, 1, 1, tzinfo=UTC)
NO_EMBARGO_RULE = "none"
EVENT_NAMESPACE = uuid.UUID("a0d5bddc-f299-52b7-b38e-6d5ba4128b41")
SOURCE_ACTOR = "source"
EVALUATOR_ACTOR = "evaluator"
DECISIONS = ("clear", "re_embargo")


def event_id(object_id: str, episode: int, from_version: int, to_state: str) -> str:
    """The id of the transition of ``object_id`` from ``from_version`` (in ``episode``, the
    episode before the transition) to ``to_state``: the same transition, the same id."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{object_id}|{episode}|{from_version}|{to_state}"))


@dataclass(frozen=True)
class EmbargoInputs:
    """What the curated record says about an object's embargo and rights."""

    object_id: str
    # The end as the source wrote it; "" when it sends none.
    end_input: str
    # The IANA zone the end was read in.
    end_input_zone: str
    # An EndRule value, or "none" when the source sends no embargo.
    end_rule: str
    # Aware UTC; NO_EMBARGO_END when the source sends no embargo.
    embargo_end_utc: datetime
    rights_uri: str | None
    data_provider: str | None
    creator_death_year: int | None


@dataclass(frozen=True)
class EmbargoState:
    """One row of governance/embargoes."""

    object_id: str
    # 1 at registration, +1 per re-embargo.
    episode: int
    state: str
    # +1 per transition; an update applies only to the version it was computed from.
    state_version: int
    embargo_end_utc: datetime
    end_input: str
    end_input_zone: str
    end_rule: str
    rights_uri: str | None
    data_provider: str | None
    creator_death_year: int | None
    # Why the object waits for a curator (or what the source asks of a published object).
    review_reason: str | None
    # The as_of of the event that produced this state.
    updated_at: datetime


@dataclass(frozen=True)
class EmbargoEvent:
    """One row of governance/embargo_events: a transition and the whole state after it."""

    event_id: str
    object_id: str
    episode: int
    # None for the registration.
    from_state: str | None
    to_state: str
    # The registration goes from version 0 to 1.
    from_version: int
    to_version: int
    # The evaluation instant the run was given.
    as_of: datetime
    embargo_end_utc: datetime
    end_input: str
    end_input_zone: str
    end_rule: str
    rights_uri: str | None
    data_provider: str | None
    creator_death_year: int | None
    review_reason: str | None
    # "source" | "evaluator" | "curator:<name>"
    actor: str
    # JSON text of the RightsCheck that let the object publish or kept it in review.
    rights_check: str | None
    # The curator decision applied, if any.
    decision_id: int | None


@dataclass(frozen=True)
class CuratorDecision:
    """A row of heritage.publication_decisions."""

    decision_id: int
    object_id: str
    # "clear" (pending_review -> published) | "re_embargo" (any state -> active, new episode)
    decision: str
    # The new end for a re-embargo.
    embargo: EmbargoEnd | None
    # The state_version the curator saw; a decision made on another version is ignored.
    seen_version: int
    decided_by: str
    note: str | None


def sync_inputs(
    current: EmbargoState | None, inputs: EmbargoInputs, as_of: datetime
) -> list[EmbargoEvent]:
    """The events that bring an object's state up to what its source now says: the
    registration of a new object, an amendment, or a re-embargo when the source sends a
    new end that has not passed for an expired object or one in review. No change, no event.
    """
    moment = _utc(as_of)
    _utc(inputs.embargo_end_utc, "embargo_end_utc")
    if current is None:
        return [_event(None, _registered(inputs, moment), SOURCE_ACTOR)]
    if current.object_id != inputs.object_id:
        raise ValueError(
            f"inputs for {inputs.object_id!r} given with the state of {current.object_id!r}"
        )
    if current.state == PUBLISHED:
        after = _published_amendment(current, inputs, moment)
    else:
        after = _amendment(current, inputs, moment)
    return [] if after is None else [_event(current, after, SOURCE_ACTOR)]


def evaluate(
    current: EmbargoState,
    as_of: datetime,
    policy: PublicationPolicy,
    decisions: Sequence[CuratorDecision] = (),
) -> list[EmbargoEvent]:
    """Every transition of ``current`` at ``as_of``, chained, each its own event and version.

    A curator decision applies when it was made on the version the state has at that point
    (decisions in decision_id order, before the evaluator's own step, so that a curator who
    extends an embargo is not overtaken by its expiry). The chain ends when nothing applies,
    so evaluating the resulting state again at the same instant emits nothing: each
    decision applies once, an evaluator step moves forward, and a stay in review is emitted
    only when its reason changes.
    """
    moment = _utc(as_of)
    waiting = sorted(
        (d for d in decisions if d.object_id == current.object_id), key=lambda d: d.decision_id
    )
    events: list[EmbargoEvent] = []
    state = current
    while True:
        decision = next((d for d in waiting if _decision_applies(d, state, moment)), None)
        if decision is not None:
            waiting.remove(decision)
            event = _decided(state, decision, moment, policy)
        else:
            step = _evaluator_step(state, moment, policy)
            if step is None:
                return events
            event = step
        events.append(event)
        state = apply_event(state, event)


def apply_event(current: EmbargoState | None, event: EmbargoEvent) -> EmbargoState:
    """The state after ``event``; it must continue ``current`` (the same object, version and
    state), or be a registration when there is no state yet."""
    if current is None:
        if event.from_state is not None or event.from_version != 0:
            raise ValueError(
                f"{event.object_id}: event {event.event_id} continues version "
                f"{event.from_version} ({event.from_state}) but the object has no state; "
                "replay its events from the registration"
            )
    elif (event.object_id, event.from_version, event.from_state) != (
        current.object_id,
        current.state_version,
        current.state,
    ):
        raise ValueError(
            f"{event.object_id}: event {event.event_id} continues version "
            f"{event.from_version} ({event.from_state}) of {event.object_id!r}, but the state "
            f"of {current.object_id!r} is at version {current.state_version} "
            f"({current.state}); another writer changed it or an event is missing"
        )
    if event.to_version != event.from_version + 1 or event.to_state not in STATES:
        raise ValueError(
            f"{event.object_id}: event {event.event_id} goes from version "
            f"{event.from_version} to {event.to_version} ({event.to_state}); "
            "a transition goes one version up to one of " + ", ".join(STATES)
        )
    return EmbargoState(
        object_id=event.object_id,
        episode=event.episode,
        state=event.to_state,
        state_version=event.to_version,
        embargo_end_utc=event.embargo_end_utc,
        end_input=event.end_input,
        end_input_zone=event.end_input_zone,
        end_rule=event.end_rule,
        rights_uri=event.rights_uri,
        data_provider=event.data_provider,
        creator_death_year=event.creator_death_year,
        review_reason=event.review_reason,
        updated_at=event.as_of,
    )


def replay(events: Iterable[EmbargoEvent]) -> dict[str, EmbargoState]:
    """The state of every object the events name: each object's events applied in
    to_version order, an event seen again (the same event_id) ignored."""
    unique: dict[str, EmbargoEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    states: dict[str, EmbargoState] = {}
    ordered = sorted(unique.values(), key=lambda e: (e.object_id, e.to_version, e.event_id))
    for event in ordered:
        states[event.object_id] = apply_event(states.get(event.object_id), event)
    return states


def source_end_note(end_input: str) -> str:
    """The review reason of a published object whose source now sends an embargo."""
    return f"the source now sends an embargo until {end_input}; a curator decides"


def _registered(inputs: EmbargoInputs, as_of: datetime) -> EmbargoState:
    return EmbargoState(
        object_id=inputs.object_id,
        episode=1,
        state=ACTIVE,
        state_version=1,
        embargo_end_utc=_utc(inputs.embargo_end_utc, "embargo_end_utc"),
        end_input=inputs.end_input,
        end_input_zone=inputs.end_input_zone,
        end_rule=inputs.end_rule,
        rights_uri=inputs.rights_uri,
        data_provider=inputs.data_provider,
        creator_death_year=inputs.creator_death_year,
        review_reason=None,
        updated_at=as_of,
    )


def _amendment(
    current: EmbargoState, inputs: EmbargoInputs, as_of: datetime
) -> EmbargoState | None:
    """An object not yet published takes what the source sends; a new end that has not
    passed puts an expired object or one in review back under embargo, in a new episode."""
    if _input_values(inputs) == _input_values(current):
        return None
    end_utc = _utc(inputs.embargo_end_utc, "embargo_end_utc")
    re_embargo = (
        current.state in (EXPIRED, PENDING_REVIEW)
        and end_utc != current.embargo_end_utc
        and not is_expired(as_of, end_utc)
    )
    return replace(
        current,
        embargo_end_utc=end_utc,
        end_input=inputs.end_input,
        end_input_zone=inputs.end_input_zone,
        end_rule=inputs.end_rule,
        rights_uri=inputs.rights_uri,
        data_provider=inputs.data_provider,
        creator_death_year=inputs.creator_death_year,
        state=ACTIVE if re_embargo else current.state,
        episode=current.episode + 1 if re_embargo else current.episode,
        review_reason=None if re_embargo else current.review_reason,
        state_version=current.state_version + 1,
        updated_at=as_of,
    )


def _published_amendment(
    current: EmbargoState, inputs: EmbargoInputs, as_of: datetime
) -> EmbargoState | None:
    """A published object records new rights, provider and death year; a new embargo end
    is only noted for a curator (the object keeps the end it was published under)."""
    end_changed = _end_values(inputs) != _end_values(current)
    note = (
        source_end_note(inputs.end_input)
        if end_changed and inputs.end_rule != NO_EMBARGO_RULE
        else None
    )
    after = replace(
        current,
        rights_uri=inputs.rights_uri,
        data_provider=inputs.data_provider,
        creator_death_year=inputs.creator_death_year,
        review_reason=note,
    )
    if after == current:
        return None
    return replace(after, state_version=current.state_version + 1, updated_at=as_of)


def _decision_applies(decision: CuratorDecision, state: EmbargoState, as_of: datetime) -> bool:
    if decision.seen_version != state.state_version:
        return False
    if decision.decision == "clear":
        # A clear publishes, so it too waits for the end (an as_of before it is a rerun).
        return state.state == PENDING_REVIEW and is_expired(as_of, state.embargo_end_utc)
    return decision.decision == "re_embargo" and decision.embargo is not None


def _decided(
    state: EmbargoState, decision: CuratorDecision, as_of: datetime, policy: PublicationPolicy
) -> EmbargoEvent:
    actor = f"curator:{decision.decided_by}"
    if decision.decision == "clear":
        clearance = curator_clearance(
            decision.decided_by,
            decision.note,
            state.rights_uri,
            state.creator_death_year,
            policy,
        )
        after = _next(state, PUBLISHED, as_of, review_reason=None)
        return _event(state, after, actor, clearance.to_json(), decision.decision_id)
    end = decision.embargo
    if end is None:  # _decision_applies admits none; this keeps the type checker informed
        raise ValueError(f"decision {decision.decision_id}: a re-embargo needs a new end")
    after = replace(
        _next(state, ACTIVE, as_of, review_reason=None),
        episode=state.episode + 1,
        embargo_end_utc=_utc(end.end_utc, "embargo end_utc"),
        end_input=end.verbatim,
        end_input_zone=end.zone,
        end_rule=end.rule.value,
    )
    return _event(state, after, actor, None, decision.decision_id)


def _evaluator_step(
    state: EmbargoState, as_of: datetime, policy: PublicationPolicy
) -> EmbargoEvent | None:
    """The evaluator's one next transition, or None when there is none at ``as_of``."""
    if state.state == PUBLISHED or not is_expired(as_of, state.embargo_end_utc):
        return None
    if state.state == ACTIVE:
        return _event(state, _next(state, EXPIRED, as_of, None), EVALUATOR_ACTOR)
    check = check_rights(state.rights_uri, state.creator_death_year, as_of, policy)
    reason = None if check.cleared else check.reason
    if state.state == EXPIRED:
        after = _next(state, PENDING_REVIEW, as_of, reason)
    elif check.cleared:
        after = _next(state, PUBLISHED, as_of, None)
    elif reason != state.review_reason:
        after = _next(state, PENDING_REVIEW, as_of, reason)
    else:
        return None
    return _event(state, after, EVALUATOR_ACTOR, check.to_json())


def _next(
    state: EmbargoState, to_state: str, as_of: datetime, review_reason: str | None
) -> EmbargoState:
    return replace(
        state,
        state=to_state,
        state_version=state.state_version + 1,
        review_reason=review_reason,
        updated_at=as_of,
    )


def _event(
    before: EmbargoState | None,
    after: EmbargoState,
    actor: str,
    rights_check: str | None = None,
    decision_id: int | None = None,
) -> EmbargoEvent:
    from_version = before.state_version if before else 0
    episode_before = before.episode if before else after.episode
    return EmbargoEvent(
        event_id=event_id(after.object_id, episode_before, from_version, after.state),
        object_id=after.object_id,
        episode=after.episode,
        from_state=before.state if before else None,
        to_state=after.state,
        from_version=from_version,
        to_version=after.state_version,
        as_of=after.updated_at,
        embargo_end_utc=after.embargo_end_utc,
        end_input=after.end_input,
        end_input_zone=after.end_input_zone,
        end_rule=after.end_rule,
        rights_uri=after.rights_uri,
        data_provider=after.data_provider,
        creator_death_year=after.creator_death_year,
        review_reason=after.review_reason,
        actor=actor,
        rights_check=rights_check,
        decision_id=decision_id,
    )


def _input_values(source: EmbargoInputs | EmbargoState) -> tuple[object, ...]:
    """What the source says, for telling whether it changed."""
    return (
        *_end_values(source),
        source.rights_uri,
        source.data_provider,
        source.creator_death_year,
    )


def _end_values(source: EmbargoInputs | EmbargoState) -> tuple[datetime, str, str, str]:
    return (source.embargo_end_utc, source.end_input, source.end_input_zone, source.end_rule)


def _utc(moment: datetime, name: str = "as_of") -> datetime:
    """``moment`` in UTC; a naive datetime is refused, never taken as UTC or local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)
