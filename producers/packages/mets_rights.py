"""Rights statements of a METS document: PREMIS rightsStatements (v2 and v3) and METSRights
declarations, one :class:`RightsStatement` per right granted.

Embargoes (:func:`restriction_end`): a right granted whose ``restriction`` withholds it
(whole words, any case: Disallow, Embargo, Restricted/Restriction, Deny/Denied, Forbidden,
Prohibited; not Allow, Conditional or Unrestricted) on an act of making the object
available (Disseminate, Publish, Access, Display, View, Discover; or no act named) holds
until its term's ``endDate``. Archivematica writes ``OPEN`` for a term with no end; that,
and a blank or missing endDate, is a restriction without end: the object stays restricted
(:data:`~heritage.producers.embargo_inputs.INDEFINITE_EMBARGO_UNTIL`) until a curator
sets an end. Restrictions on preservation acts (Replicate, Migrate, Delete, "Act 2") and
METSRights declarations (which state no restriction) give no embargo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from heritage.producers.embargo_inputs import INDEFINITE_EMBARGO_UNTIL
from heritage.producers.packages.xml_values import child_text as _child_text
from heritage.producers.packages.xml_values import element_text as _text
from heritage.producers.packages.xml_values import uri_or_none as _uri_or_none

PREMIS_NAMESPACES = ("info:lc/xmlns/premis-v2", "http://www.loc.gov/premis/v3")
METSRIGHTS_NS = "http://cosimo.stanford.edu/sdr/metsrights/"
# A restriction that withholds the act (see the module docstring).
_WITHHOLDING = re.compile(
    r"\b(?:disallow|embargo|restrict|den(?:y|ied)|forbid|prohibit)", re.IGNORECASE
)
# Acts of making the object available to the public.
_AVAILABILITY_ACT = re.compile(
    r"\b(?:disseminat|publish|publication|access|display|view|discover)", re.IGNORECASE
)
# Archivematica's endDate of a term that has no end.
_OPEN_END = "open"


@dataclass(frozen=True)
class RightsStatement:
    basis: str | None
    act: str | None
    restriction: str | None
    start_date: str | None
    end_date: str | None
    note: str | None
    uri: str | None


def premis_rights_statements(statement: etree._Element, ns: str) -> list[RightsStatement]:
    """One statement per rightsGranted of a PREMIS rightsStatement (one with the basis, the
    basis's note and applicable dates when nothing is granted)."""
    basis = _child_text(statement, ns, "rightsBasis")
    uri = _documentation_uri(statement, ns)
    granted = list(statement.iterchildren(f"{{{ns}}}rightsGranted"))
    if not granted:
        start, end = _term_dates(statement, ns, "ApplicableDates")
        return [RightsStatement(basis, None, None, start, end, _basis_note(statement, ns), uri)]
    statements = []
    for grant in granted:
        restrictions = [_text(r) for r in grant.iterchildren(f"{{{ns}}}restriction")]
        start, end = _term_dates(grant, ns, "termOf")
        statements.append(
            RightsStatement(
                basis=basis,
                act=_child_text(grant, ns, "act"),
                restriction="; ".join(r for r in restrictions if r) or None,
                start_date=start,
                end_date=end,
                note=_child_text(grant, ns, "rightsGrantedNote"),
                uri=uri,
            )
        )
    return statements


def _term_dates(element: etree._Element, ns: str, prefix: str) -> tuple[str | None, str | None]:
    """startDate and endDate of the first term (termOfGrant, termOfRestriction, or a basis's
    ...ApplicableDates) found among ``element``'s descendants named with ``prefix``; a
    termOfRestriction before any other (it is when a restriction ends, where PREMIS writes
    termOfGrant first)."""
    terms = [
        term
        for term in element.iter(f"{{{ns}}}*")
        if etree.QName(term).localname.startswith(prefix)
        or etree.QName(term).localname.endswith(prefix)
    ]
    terms.sort(key=lambda term: etree.QName(term).localname != "termOfRestriction")
    for term in terms[:1]:
        return _child_text(term, ns, "startDate"), _child_text(term, ns, "endDate")
    return None, None


def _basis_note(statement: etree._Element, ns: str) -> str | None:
    for note in ("copyrightNote", "licenseNote", "statuteNote", "otherRightsNote"):
        for element in statement.iter(f"{{{ns}}}{note}"):
            if _text(element):
                return _text(element)
    return None


def _documentation_uri(statement: etree._Element, ns: str) -> str | None:
    for element in statement.iter(f"{{{ns}}}*"):
        if etree.QName(element).localname.endswith("DocumentationIdentifierValue"):
            text = _text(element)
            if _uri_or_none(text):
                return text
    return None


def metsrights_statement(declaration: etree._Element) -> RightsStatement:
    """A METSRights declaration: its category as the basis, the permissions granted in any
    context as the act, the declaration text as the note."""
    granted = sorted(
        {
            name.lower()
            for permissions in declaration.iter(f"{{{METSRIGHTS_NS}}}Permissions")
            for name, value in permissions.attrib.items()
            if str(value).strip().lower() == "true"
        }
    )
    note = next((_text(d) for d in declaration.iter(f"{{{METSRIGHTS_NS}}}RightsDeclaration")), None)
    return RightsStatement(
        basis=declaration.get("RIGHTSCATEGORY"),
        act=", ".join(granted) or None,
        restriction=None,
        start_date=None,
        end_date=None,
        note=note,
        uri=_uri_or_none(declaration.get("RIGHTSDECID")),
    )


def withholds_availability(statement: RightsStatement) -> bool:
    """Whether the statement restricts making the object available (an embargo)."""
    if not statement.restriction or not _WITHHOLDING.search(statement.restriction):
        return False
    return statement.act is None or _AVAILABILITY_ACT.search(statement.act) is not None


def restriction_end(statement: RightsStatement) -> str | None:
    """The end of the embargo a statement imposes as written (its endDate), the indefinite
    end for an ``OPEN``, blank or missing endDate, None when it imposes no embargo."""
    if not withholds_availability(statement):
        return None
    end = (statement.end_date or "").strip()
    if not end or end.lower() == _OPEN_END:
        return INDEFINITE_EMBARGO_UNTIL
    return end
