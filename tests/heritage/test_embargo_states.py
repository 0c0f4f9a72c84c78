"""The embargo state machine: registration, expiry at the exact instant (daylight saving
time and extreme zones included), review and the rights check, curator decisions, what the
source may change, and replaying events. Pure: no services."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from heritage.embargo_states import (
    NO_EMBARGO_END,
    CuratorDecision,
    EmbargoEvent,
    EmbargoInputs,
    EmbargoState,
    apply_event,
    evaluate,
    event_id,
    replay,
    source_end_note,
    sync_inputs,
)
from heritage.embargo_time import EmbargoEnd, embargo_end
from heritage.publication_settings import PublicationPolicy

# Results that must not depend on the process's or Spark's time zone (`make test`).
pytestmark = pytest.mark.zones

AMSTERDAM = "Europe/Amsterdam"
MICROSECOND = timedelta(microseconds=1)
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
IN_C = "http://rightsstatements.org/vocab/InC/1.0/"
CNE = "http://rightsstatements.org/vocab/CNE/1.0/"
POLICY = PublicationPolicy(institution_zone=AMSTERDAM)
REGISTERED_AT = datetime(2029, 1, 1, tzinfo=UTC)
OBJECT = "lido:rijks/SK-A-1"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def inputs(
    end: EmbargoEnd | None = None,
    rights: str | None = CC0,
    death: int | None = None,
    object_id: str = OBJECT,
) -> EmbargoInputs:
    if end is None:
        return EmbargoInputs(object_id, "", "UTC", "none", NO_EMBARGO_END, rights, "Rijks", death)
    return EmbargoInputs(
        object_id, end.verbatim, end.zone, end.rule.value, end.end_utc, rights, "Rijks", death
    )


def registered(item: EmbargoInputs, at: datetime = REGISTERED_AT) -> EmbargoState:
    [event] = sync_inputs(None, item, at)
    return apply_event(None, event)


def run(
    state: EmbargoState,
    as_of: datetime,
    policy: PublicationPolicy = POLICY,
    decisions: Sequence[CuratorDecision] = (),
) -> tuple[EmbargoState, list[EmbargoEvent]]:
    events = evaluate(state, as_of, policy, decisions)
    for event in events:
        state = apply_event(state, event)
    return state, events


def path(events: Sequence[EmbargoEvent]) -> list[tuple[str | None, str, int, int]]:
    return [(e.from_state, e.to_state, e.from_version, e.to_version) for e in events]


def decision(
    kind: str, seen: int, end: EmbargoEnd | None = None, number: int = 1, who: str = "ana"
) -> CuratorDecision:
    return CuratorDecision(number, OBJECT, kind, end, seen, who, None)


def test_registration_is_the_first_event_of_the_first_episode() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    [event] = sync_inputs(None, inputs(end), REGISTERED_AT)
    assert (event.from_state, event.to_state, event.from_version, event.to_version) == (
        None,
        "active",
        0,
        1,
    )
    assert event.episode == 1 and event.actor == "source" and event.as_of == REGISTERED_AT
    assert event.event_id == event_id(OBJECT, 1, 0, "active")
    assert event.embargo_end_utc == utc(2030, 12, 31, 23) and event.end_input == "2030-12-31"
    state = apply_event(None, event)
    assert state.state == "active" and state.state_version == 1
    assert state.updated_at == REGISTERED_AT and state.review_reason is None


def test_the_embargo_holds_until_the_instant_it_ends() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    state = registered(inputs(end))
    assert evaluate(state, end.end_utc - MICROSECOND, POLICY) == []
    for moment in (end.end_utc, end.end_utc + MICROSECOND):
        published, events = run(state, moment)
        assert path(events) == [
            ("active", "expired", 1, 2),
            ("expired", "pending_review", 2, 3),
            ("pending_review", "published", 3, 4),
        ]
        assert published.state == "published" and published.updated_at == moment
        assert all(e.as_of == moment and e.actor == "evaluator" for e in events)
        assert json.loads(events[-1].rights_check or "")["verdict"] == "cleared"


@pytest.mark.parametrize(
    ("day", "zone", "end_utc"),
    [
        # Spring forward: 31 March 2030 ends at the next midnight, already UTC+2.
        ("2030-03-31", AMSTERDAM, utc(2030, 3, 31, 22)),
        # Fall back: 27 October 2030 is 25 hours long and ends at midnight UTC+1.
        ("2030-10-27", AMSTERDAM, utc(2030, 10, 27, 23)),
        # UTC+14: the local day ends ten hours before that date ends in UTC.
        ("2030-12-31", "Pacific/Kiritimati", utc(2030, 12, 31, 10)),
        # UTC-11: the local day ends eleven hours into the next UTC day.
        ("2030-12-31", "Pacific/Pago_Pago", utc(2031, 1, 1, 11)),
    ],
)
def test_a_date_only_end_expires_at_the_next_local_midnight(
    day: str, zone: str, end_utc: datetime
) -> None:
    end = embargo_end(day, zone)
    assert end.end_utc == end_utc
    state = registered(inputs(end, rights=IN_C))
    assert evaluate(state, end_utc - MICROSECOND, POLICY) == []
    expired, events = run(state, end_utc)
    assert [e.to_state for e in events] == ["expired", "pending_review"]
    assert expired.state == "pending_review" and expired.review_reason is not None
    assert "death year is unknown" in expired.review_reason


def test_an_object_without_an_embargo_goes_through_review_at_its_first_evaluation() -> None:
    state = registered(inputs(None))
    assert state.embargo_end_utc == NO_EMBARGO_END and state.end_rule == "none"
    published, events = run(state, REGISTERED_AT)
    assert [e.to_state for e in events] == ["expired", "pending_review", "published"]
    assert published.state == "published"


def test_evaluating_again_at_the_same_instant_emits_nothing() -> None:
    state = registered(inputs(None, rights=CNE))
    waiting, events = run(state, REGISTERED_AT)
    assert waiting.state == "pending_review" and CNE in (waiting.review_reason or "")
    assert evaluate(waiting, REGISTERED_AT, POLICY) == []
    assert evaluate(waiting, REGISTERED_AT + timedelta(days=30), POLICY) == []
    assert evaluate(state, REGISTERED_AT, POLICY) == events


def test_a_stay_in_review_is_an_event_only_when_its_reason_changes() -> None:
    waiting, _ = run(registered(inputs(None, rights=IN_C)), REGISTERED_AT)
    [amended] = sync_inputs(waiting, inputs(None, rights=IN_C, death=1990), REGISTERED_AT)
    assert (amended.from_state, amended.to_state) == ("pending_review", "pending_review")
    assert amended.review_reason == waiting.review_reason
    amended_state = apply_event(waiting, amended)
    stayed, [stay] = run(amended_state, REGISTERED_AT)
    assert (stay.from_state, stay.to_state) == ("pending_review", "pending_review")
    assert stay.review_reason == stayed.review_reason and "2061-01-01" in (stay.review_reason or "")
    assert json.loads(stay.rights_check or "")["creator_death_year"] == 1990
    # The term ends on 1 January 2061 and the policy clears public-domain works.
    clear_term = PublicationPolicy(institution_zone=AMSTERDAM, statutory_action="clear")
    assert evaluate(stayed, utc(2060, 12, 31, 23, 59, 59), clear_term) == []
    published, [event] = run(stayed, utc(2061, 1, 1), clear_term)
    assert published.state == "published"
    assert json.loads(event.rights_check or "")["rule"] == "statutory_term"


def test_a_curator_clears_an_object_in_review() -> None:
    waiting, _ = run(registered(inputs(None, rights=CNE)), REGISTERED_AT)
    stale = decision("clear", waiting.state_version - 1, number=1, who="bob")
    fresh = decision("clear", waiting.state_version, number=2)
    published, [event] = run(waiting, REGISTERED_AT, decisions=[fresh, stale])
    assert published.state == "published"
    assert (event.from_state, event.actor, event.decision_id) == (
        "pending_review",
        "curator:ana",
        2,
    )
    check = json.loads(event.rights_check or "")
    assert check["verdict"] == "cleared" and check["cleared_by"] == "curator:ana"


def test_a_clear_applies_only_to_an_object_in_review() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    state = registered(inputs(end, rights=CNE))
    assert evaluate(state, REGISTERED_AT, POLICY, [decision("clear", 1)]) == []
    # Once the end has passed, the clear made on version 1 is stale: the object moved on.
    waiting, events = run(state, end.end_utc, decisions=[decision("clear", 1)])
    assert waiting.state == "pending_review" and len(events) == 2


def test_of_two_decisions_on_the_same_version_the_first_wins() -> None:
    waiting, _ = run(registered(inputs(None, rights=CNE)), REGISTERED_AT)
    later_end = embargo_end("2040", AMSTERDAM)
    version = waiting.state_version
    first = decision("re_embargo", version, later_end, number=7)
    second = decision("clear", version, number=8)
    after, [event] = run(waiting, REGISTERED_AT, decisions=[second, first])
    assert after.state == "active" and event.decision_id == 7


def test_a_re_embargo_starts_a_new_episode() -> None:
    waiting, _ = run(registered(inputs(None, rights=CNE)), REGISTERED_AT)
    new_end = embargo_end("2035-06", AMSTERDAM)
    version = waiting.state_version
    active, [event] = run(
        waiting, REGISTERED_AT, decisions=[decision("re_embargo", version, new_end)]
    )
    # The id names the episode before the transition.
    assert event.event_id == event_id(OBJECT, 1, version, "active")
    assert (event.from_state, event.to_state, event.episode) == ("pending_review", "active", 2)
    assert active.embargo_end_utc == new_end.end_utc and active.end_rule == "through_named_month"
    assert active.end_input == "2035-06" and active.review_reason is None
    assert evaluate(active, new_end.end_utc - MICROSECOND, POLICY) == []


def test_a_re_embargo_that_has_already_ended_goes_on_to_review_in_the_same_call() -> None:
    waiting, _ = run(registered(inputs(None, rights=CNE)), REGISTERED_AT)
    past = embargo_end("2028-12-31", AMSTERDAM)
    again, events = run(waiting, REGISTERED_AT, decisions=[decision("re_embargo", 3, past)])
    assert [(e.to_state, e.episode) for e in events] == [
        ("active", 2),
        ("expired", 2),
        ("pending_review", 2),
    ]
    assert again.state == "pending_review" and again.state_version == 6


def test_a_curator_re_embargo_made_before_the_end_is_not_overtaken_by_expiry() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    state = registered(inputs(end))
    longer = embargo_end("2032-12-31", AMSTERDAM)
    extended, events = run(state, end.end_utc, decisions=[decision("re_embargo", 1, longer)])
    assert [e.to_state for e in events] == ["active"] and extended.episode == 2


def test_only_a_curator_re_embargoes_a_published_object() -> None:
    published, _ = run(registered(inputs(None)), REGISTERED_AT)
    new_end = embargo_end("2031-01-01T00:00:00Z", "UTC")
    [sent] = sync_inputs(published, inputs(new_end), REGISTERED_AT)
    assert (sent.from_state, sent.to_state) == ("published", "published")
    assert sent.review_reason == source_end_note("2031-01-01T00:00:00Z")
    assert sent.embargo_end_utc == NO_EMBARGO_END and sent.episode == 1
    noted = apply_event(published, sent)
    assert sync_inputs(noted, inputs(new_end), REGISTERED_AT) == []
    assert evaluate(noted, REGISTERED_AT, POLICY) == []
    version = noted.state_version
    active, [event] = run(
        noted, REGISTERED_AT, decisions=[decision("re_embargo", version, new_end)]
    )
    assert (event.from_state, event.to_state, event.actor) == ("published", "active", "curator:ana")
    assert active.episode == 2 and active.embargo_end_utc == utc(2031, 1, 1)


def test_a_published_object_records_new_rights() -> None:
    published, _ = run(registered(inputs(None)), REGISTERED_AT)
    [event] = sync_inputs(published, inputs(None, rights=CNE, death=1900), REGISTERED_AT)
    assert event.to_state == "published" and event.rights_uri == CNE
    assert event.creator_death_year == 1900 and event.review_reason is None


def test_what_the_source_changes_is_an_amendment_and_no_change_is_no_event() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    state = registered(inputs(end))
    assert sync_inputs(state, inputs(end), REGISTERED_AT) == []
    later = embargo_end("2031-12-31", AMSTERDAM)
    [event] = sync_inputs(state, inputs(later), REGISTERED_AT)
    assert (event.from_state, event.to_state, event.from_version, event.to_version) == (
        "active",
        "active",
        1,
        2,
    )
    assert event.episode == 1 and event.embargo_end_utc == later.end_utc


def test_a_new_end_from_the_source_puts_an_object_in_review_back_under_embargo() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    waiting, _ = run(registered(inputs(end, rights=CNE)), end.end_utc)
    later = embargo_end("2031-12-31", AMSTERDAM)
    [event] = sync_inputs(waiting, inputs(later, rights=CNE), end.end_utc)
    assert (event.from_state, event.to_state, event.episode) == ("pending_review", "active", 2)
    assert event.event_id == event_id(OBJECT, 1, waiting.state_version, "active")
    # An end that has passed too only amends: the object stays in review.
    earlier = embargo_end("2030-06-30", AMSTERDAM)
    [amended] = sync_inputs(waiting, inputs(earlier, rights=CNE), end.end_utc)
    assert (amended.to_state, amended.episode) == ("pending_review", 1)


def test_an_instant_before_the_end_never_moves_an_object_towards_publication() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    waiting, _ = run(registered(inputs(end, rights=IN_C)), end.end_utc)
    cleared = PublicationPolicy(institution_zone=AMSTERDAM, statutory_action="clear")
    [amended] = sync_inputs(waiting, inputs(end, rights=CC0), end.end_utc)
    changed = apply_event(waiting, amended)
    before_end = end.end_utc - MICROSECOND
    assert evaluate(changed, before_end, cleared, [decision("clear", changed.state_version)]) == []
    published, _ = run(changed, end.end_utc, cleared)
    assert published.state == "published"


def test_replay_rebuilds_the_states_whatever_the_order_and_duplicates() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    history: list[EmbargoEvent] = []
    states: dict[str, EmbargoState] = {}
    for object_id, rights in (("a", CC0), ("b", CNE)):
        [first] = sync_inputs(None, inputs(end, rights, object_id=object_id), REGISTERED_AT)
        state = apply_event(None, first)
        state, events = run(state, end.end_utc)
        history += [first, *events]
        states[object_id] = state
    assert replay(history) == states
    assert replay(reversed(history + history)) == states
    assert replay(history[::2] + history[1::2]) == states


def test_replay_refuses_a_history_with_a_gap() -> None:
    state = registered(inputs(None))
    _, events = run(state, REGISTERED_AT)
    with pytest.raises(ValueError, match="has no state"):
        replay(events)
    registration = sync_inputs(None, inputs(None), REGISTERED_AT)
    with pytest.raises(ValueError, match="an event is missing"):
        replay([*registration, *events[1:]])


def test_naive_instants_are_refused() -> None:
    state = registered(inputs(None))
    with pytest.raises(ValueError, match="no time zone"):
        evaluate(state, datetime(2030, 1, 1), POLICY)
    with pytest.raises(ValueError, match="no time zone"):
        sync_inputs(None, inputs(None), datetime(2030, 1, 1))


def test_an_instant_with_an_offset_is_the_same_instant() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    state = registered(inputs(end))
    kiritimati = end.end_utc.astimezone(timezone(timedelta(hours=14)))
    assert evaluate(state, kiritimati, POLICY) == evaluate(state, end.end_utc, POLICY)
    assert evaluate(state, kiritimati - MICROSECOND, POLICY) == []


def test_the_process_time_zone_changes_nothing(process_zone: str) -> None:
    end = embargo_end("2030-10-27", AMSTERDAM)
    state = registered(inputs(end))
    assert end.end_utc == utc(2030, 10, 27, 23)
    assert evaluate(state, end.end_utc - MICROSECOND, POLICY) == []
    published, events = run(state, end.end_utc)
    assert published.state == "published" and len(events) == 3
