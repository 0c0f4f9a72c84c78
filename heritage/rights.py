"""Rights statements: the canonical URI forms and the legacy forms providers still send.

Canonical forms are the ones rightsstatements.org and creativecommons.org publish as
identifiers: ``http://`` scheme, no ``www.``, ``/vocab/`` not ``/page/``, no ``deed.xx`` or
query string, trailing slash. Legacy Europeana rights URIs map to their rightsstatements.org
successors as Europeana documented when it retired them.
"""

from __future__ import annotations

import re

# Europeana's retired rights URIs and their successors.
LEGACY_EUROPEANA_RIGHTS = {
    "http://www.europeana.eu/rights/rr-f/": "http://rightsstatements.org/vocab/InC/1.0/",
    "http://www.europeana.eu/rights/rr-p/": "http://rightsstatements.org/vocab/InC/1.0/",
    "http://www.europeana.eu/rights/rr-r/": "http://rightsstatements.org/vocab/InC/1.0/",
    "http://www.europeana.eu/rights/unknown/": "http://rightsstatements.org/vocab/CNE/1.0/",
    "http://www.europeana.eu/rights/orphan-work-eu/": "http://rightsstatements.org/vocab/InC-OW-EU/1.0/",
    "http://www.europeana.eu/rights/out-of-copyright-non-commercial/": (
        "http://rightsstatements.org/vocab/NoC-NC/1.0/"
    ),
}

CANONICAL_RIGHTS_PATTERN = (
    r"^http://(rightsstatements\.org/vocab/[A-Za-z]+(-[A-Za-z]+)*/1\.0/"
    r"|creativecommons\.org/(licenses/[a-z]+(-[a-z]+)*/[0-9.]+(/[a-z]{2})?"
    r"|publicdomain/(zero|mark)/1\.0)/)$"
)
_CANONICAL = re.compile(CANONICAL_RIGHTS_PATTERN)


def canonical_rights_uri(uri: str) -> str | None:
    """The canonical form of a rights URI, or None when it is not a known statement."""
    text = uri.strip()
    lowered = re.sub(r"^https?://(www\.)?", "http://", text, flags=re.IGNORECASE)
    lowered = re.sub(r"[?#].*$", "", lowered)
    lowered = re.sub(r"/(deed|legalcode)(\.[a-zA-Z_-]+)?$", "/", lowered)
    lowered = lowered.replace("rightsstatements.org/page/", "rightsstatements.org/vocab/")
    if not lowered.endswith("/"):
        lowered += "/"
    legacy = LEGACY_EUROPEANA_RIGHTS.get(re.sub(r"^http://", "http://www.", lowered))
    if legacy:
        return legacy
    return lowered if _CANONICAL.match(lowered) else None
