"""Whether an object's rights statement lets it be published: the rights check an expired
embargo passes through before anything becomes public. Pure: ``as_of`` is a parameter, never
the clock, and the process time zone plays no part.

The rules, in order:

- no statement, or one that is not a known statement: not cleared;
- an open statement (a canonical URI starting with one of ``policy.open_rights``): cleared
  when ``policy.auto_clear_open``, else a curator clears it;
- In Copyright (``InC`` and every ``InC-*``) whose creator died long enough ago: from
  1 January (UTC) of the year ``death + statutory_years + 1`` the work is in the public
  domain; ``policy.statutory_action`` says whether that clears it or a curator decides;
- anything else (In Copyright within its term, CNE, UND, NKC, NoC-* outside the open list,
  non-commercial and no-derivatives licences): not cleared; a curator decides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime

from heritage.publication_settings import PublicationPolicy
from heritage.rights import canonical_rights_uri

# The rule that decided a check (the ``rule`` of a RightsCheck).
OPEN_STATEMENT = "open_statement"
STATUTORY_TERM = "statutory_term"
IN_COPYRIGHT = "in_copyright"
RESTRICTED_STATEMENT = "restricted_statement"
NO_STATEMENT = "no_statement"
CURATOR = "curator"

_IN_COPYRIGHT = re.compile(r"^http://rightsstatements\.org/vocab/InC(-[A-Za-z]+)*/1\.0/$")


@dataclass(frozen=True)
class RightsCheck:
    cleared: bool
    # Which rule decided (one of the constants above).
    rule: str
    # Why, in words a curator reads in the publication queue.
    reason: str
    # The version of the publication policy that decided.
    policy_version: str
    # The canonical statement when there is one, else what the source sent.
    rights_uri: str | None
    creator_death_year: int | None = None
    # "curator:<name>" when a curator cleared the object, else None.
    cleared_by: str | None = None

    def to_json(self) -> str:
        """The check as JSON with sorted keys. The instant of the check is left out: the same
        inputs under the same policy give the same text at any instant."""
        return json.dumps(
            {
                "verdict": "cleared" if self.cleared else "not_cleared",
                "rule": self.rule,
                "reason": self.reason,
                "policy_version": self.policy_version,
                "rights_uri": self.rights_uri,
                "creator_death_year": self.creator_death_year,
                "cleared_by": self.cleared_by,
            },
            sort_keys=True,
        )


def check_rights(
    rights_uri: str | None,
    creator_death_year: int | None,
    as_of: datetime,
    policy: PublicationPolicy,
) -> RightsCheck:
    """The rights check of an object with ``rights_uri`` at the instant ``as_of`` (aware)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no time zone; pass an aware datetime")
    canonical = canonical_rights_uri(rights_uri) if rights_uri and rights_uri.strip() else None
    if canonical is None:
        reason = "no rights statement"
        if rights_uri and rights_uri.strip():
            reason += f": {rights_uri!r} is not a known rights statement URI"
        return _verdict(False, NO_STATEMENT, reason, policy, rights_uri, creator_death_year)
    if canonical.startswith(policy.open_rights):
        if policy.auto_clear_open:
            reason = f"open statement {canonical}"
            return _verdict(True, OPEN_STATEMENT, reason, policy, canonical, creator_death_year)
        reason = "open statement; the policy asks a curator to clear"
        return _verdict(False, OPEN_STATEMENT, reason, policy, canonical, creator_death_year)
    if _IN_COPYRIGHT.match(canonical):
        return _in_copyright(canonical, creator_death_year, as_of, policy)
    reason = f"{canonical} does not clear publication; a curator decides"
    return _verdict(False, RESTRICTED_STATEMENT, reason, policy, canonical, creator_death_year)


def curator_clearance(
    decided_by: str,
    note: str | None,
    rights_uri: str | None,
    creator_death_year: int | None,
    policy: PublicationPolicy,
) -> RightsCheck:
    """The check a curator's "clear" decision records: the curator is the one who cleared."""
    reason = f"cleared by curator {decided_by}" + (f": {note}" if note else "")
    canonical = canonical_rights_uri(rights_uri) if rights_uri and rights_uri.strip() else None
    return RightsCheck(
        cleared=True,
        rule=CURATOR,
        reason=reason,
        policy_version=policy.version,
        rights_uri=canonical or rights_uri,
        creator_death_year=creator_death_year,
        cleared_by=f"curator:{decided_by}",
    )


def statutory_term_end(creator_death_year: int, statutory_years: int) -> datetime | None:
    """1 January (UTC) of the year after the term: the first instant the work is in the
    public domain. None when that is past the last representable year; a term that ended
    before the first representable year ends at its first instant."""
    year = creator_death_year + statutory_years + 1
    if year > MAXYEAR:
        return None
    return datetime(max(year, MINYEAR), 1, 1, tzinfo=UTC)


def _in_copyright(
    canonical: str, death_year: int | None, as_of: datetime, policy: PublicationPolicy
) -> RightsCheck:
    if death_year is None:
        reason = f"in copyright ({canonical}) and the creator's death year is unknown"
        return _verdict(False, IN_COPYRIGHT, reason, policy, canonical, death_year)
    term_end = statutory_term_end(death_year, policy.statutory_years)
    term = f"the {policy.statutory_years}-year term after the creator's death in {death_year}"
    if term_end is None:
        reason = f"in copyright ({canonical}); {term} ends beyond the calendar"
        return _verdict(False, IN_COPYRIGHT, reason, policy, canonical, death_year)
    day = term_end.date().isoformat()
    if as_of < term_end:
        reason = f"in copyright ({canonical}); {term} runs until {day} 00:00 UTC"
        return _verdict(False, IN_COPYRIGHT, reason, policy, canonical, death_year)
    if policy.statutory_action == "clear":
        reason = f"public domain: {term} ended {day}"
        return _verdict(True, STATUTORY_TERM, reason, policy, canonical, death_year)
    reason = f"{term} ended {day}; the policy asks a curator to clear"
    return _verdict(False, STATUTORY_TERM, reason, policy, canonical, death_year)


def _verdict(
    cleared: bool,
    rule: str,
    reason: str,
    policy: PublicationPolicy,
    rights_uri: str | None,
    creator_death_year: int | None,
) -> RightsCheck:
    return RightsCheck(cleared, rule, reason, policy.version, rights_uri, creator_death_year)
