"""The rights check before publication: open statements, the statutory term of In Copyright
works, statements that wait for a curator, and the JSON an event records. Pure: no services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from heritage.publication_settings import PublicationPolicy
from heritage.rights_clearance import (
    CURATOR,
    IN_COPYRIGHT,
    NO_STATEMENT,
    OPEN_STATEMENT,
    RESTRICTED_STATEMENT,
    STATUTORY_TERM,
    check_rights,
    curator_clearance,
    statutory_term_end,
)

# Results that must not depend on the process's or Spark's time zone (`make test`).
pytestmark = pytest.mark.zones

AS_OF = datetime(2030, 6, 1, 12, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
IN_C = "http://rightsstatements.org/vocab/InC/1.0/"
REVIEW = PublicationPolicy(statutory_action="review")
CLEAR = PublicationPolicy(statutory_action="clear")


@pytest.mark.parametrize(
    "uri",
    [
        CC0,
        "https://creativecommons.org/publicdomain/zero/1.0/deed.nl",
        "http://creativecommons.org/publicdomain/mark/1.0/",
        "http://rightsstatements.org/page/NoC-US/1.0/?language=en",
        "https://creativecommons.org/licenses/by/4.0/",
        "http://creativecommons.org/licenses/by-sa/3.0/nl/",
    ],
)
def test_an_open_statement_clears_when_the_policy_clears_open_statements(uri: str) -> None:
    check = check_rights(uri, None, AS_OF, REVIEW)
    assert check.cleared and check.rule == OPEN_STATEMENT
    assert check.rights_uri is not None and check.rights_uri.startswith("http://")
    assert check.policy_version == REVIEW.version


def test_an_open_statement_waits_for_a_curator_when_the_policy_says_so() -> None:
    check = check_rights(CC0, None, AS_OF, PublicationPolicy(auto_clear_open=False))
    assert not check.cleared and check.rule == OPEN_STATEMENT
    assert check.reason == "open statement; the policy asks a curator to clear"


def test_the_open_list_is_the_policys() -> None:
    policy = PublicationPolicy(open_rights=("http://creativecommons.org/publicdomain/mark/",))
    assert not check_rights(CC0, None, AS_OF, policy).cleared
    mark = "http://creativecommons.org/publicdomain/mark/1.0/"
    assert check_rights(mark, None, AS_OF, policy).cleared


@pytest.mark.parametrize(
    "uri",
    [
        IN_C,
        "http://rightsstatements.org/vocab/InC-EDU/1.0/",
        "http://rightsstatements.org/vocab/InC-OW-EU/1.0/",
        "http://www.europeana.eu/rights/rr-f/",
    ],
)
def test_in_copyright_becomes_public_domain_on_1_january_after_the_term(uri: str) -> None:
    # Died 1950, 70 years: public domain from 1 January 2021, 00:00 UTC.
    term_end = datetime(2021, 1, 1, tzinfo=UTC)
    before = check_rights(uri, 1950, term_end - MICROSECOND, CLEAR)
    assert not before.cleared and before.rule == IN_COPYRIGHT
    assert "2021-01-01" in before.reason and "InC" in before.reason
    for moment in (term_end, term_end + MICROSECOND):
        after = check_rights(uri, 1950, moment, CLEAR)
        assert after.cleared and after.rule == STATUTORY_TERM
        assert "public domain" in after.reason


def test_a_passed_term_waits_for_a_curator_when_the_policy_says_review() -> None:
    check = check_rights(IN_C, 1900, AS_OF, REVIEW)
    assert not check.cleared and check.rule == STATUTORY_TERM
    assert "70-year term" in check.reason and "curator" in check.reason


def test_the_term_is_the_policys() -> None:
    policy = PublicationPolicy(statutory_years=100, statutory_action="clear")
    assert not check_rights(IN_C, 1950, AS_OF, policy).cleared
    assert check_rights(IN_C, 1920, AS_OF, policy).cleared


def test_the_term_boundary_is_in_utc_whatever_offset_as_of_carries() -> None:
    # 00:00 on 1 January 2021 at UTC+14 is still 2020 in UTC: the term has not ended.
    kiritimati_new_year = datetime(2021, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    assert not check_rights(IN_C, 1950, kiritimati_new_year, CLEAR).cleared
    # 23:00 on 31 December 2020 at UTC-11 is already 2021 in UTC.
    pago_pago_eve = datetime(2020, 12, 31, 13, tzinfo=timezone(timedelta(hours=-11)))
    assert check_rights(IN_C, 1950, pago_pago_eve, CLEAR).cleared


def test_in_copyright_without_a_death_year_waits_for_a_curator() -> None:
    check = check_rights(IN_C, None, AS_OF, CLEAR)
    assert not check.cleared and check.rule == IN_COPYRIGHT
    assert "death year is unknown" in check.reason and IN_C in check.reason


def test_terms_beyond_the_calendar_never_end_and_ancient_ones_have_ended() -> None:
    assert statutory_term_end(9990, 70) is None
    assert not check_rights(IN_C, 9990, AS_OF, CLEAR).cleared
    assert statutory_term_end(-500, 70) == datetime(1, 1, 1, tzinfo=UTC)
    assert check_rights(IN_C, -500, AS_OF, CLEAR).cleared


@pytest.mark.parametrize(
    "uri",
    [
        "http://rightsstatements.org/vocab/CNE/1.0/",
        "http://rightsstatements.org/vocab/UND/1.0/",
        "http://rightsstatements.org/vocab/NKC/1.0/",
        "http://creativecommons.org/licenses/by-nc/4.0/",
        "http://creativecommons.org/licenses/by-nd/4.0/",
        "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    ],
)
def test_other_statements_wait_for_a_curator_and_say_which(uri: str) -> None:
    check = check_rights(uri, 1800, AS_OF, CLEAR)
    assert not check.cleared and check.rule == RESTRICTED_STATEMENT
    assert uri in check.reason


@pytest.mark.parametrize("uri", [None, "", "  ", "http://example.org/my-licence"])
def test_no_known_statement_is_not_cleared(uri: str | None) -> None:
    check = check_rights(uri, None, AS_OF, CLEAR)
    assert not check.cleared and check.rule == NO_STATEMENT
    assert check.reason.startswith("no rights statement")


def test_the_json_has_the_verdict_and_inputs_but_not_the_instant() -> None:
    first = check_rights(IN_C, 1900, AS_OF, CLEAR)
    later = check_rights(IN_C, 1900, AS_OF + timedelta(days=400), CLEAR)
    assert first.to_json() == later.to_json()
    document = json.loads(first.to_json())
    assert document == {
        "verdict": "cleared",
        "rule": STATUTORY_TERM,
        "reason": first.reason,
        "policy_version": CLEAR.version,
        "rights_uri": IN_C,
        "creator_death_year": 1900,
        "cleared_by": None,
    }
    assert list(document) == sorted(document)
    assert json.loads(check_rights(None, None, AS_OF, CLEAR).to_json())["verdict"] == (
        "not_cleared"
    )


def test_a_curator_clearance_names_the_curator() -> None:
    check = curator_clearance("ana", "contract signed", IN_C, None, REVIEW)
    assert check.cleared and check.rule == CURATOR and check.cleared_by == "curator:ana"
    assert check.reason == "cleared by curator ana: contract signed"
    assert json.loads(check.to_json())["cleared_by"] == "curator:ana"


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        check_rights(CC0, None, datetime(2030, 1, 1), CLEAR)


def test_the_process_time_zone_changes_nothing(process_zone: str) -> None:
    term_end = datetime(2021, 1, 1, tzinfo=UTC)
    assert not check_rights(IN_C, 1950, term_end - MICROSECOND, CLEAR).cleared
    assert check_rights(IN_C, 1950, term_end, CLEAR).cleared
