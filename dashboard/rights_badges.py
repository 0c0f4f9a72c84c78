"""Rights badges: a small SVG per RightsStatements.org statement and Creative Commons tool,
drawn for this project (shapes and text, in dashboard/assets/rights/), never fetched from the
statement's site: the dashboard loads nothing from outside."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from heritage.rights import canonical_rights_uri

ASSETS = Path(__file__).resolve().parent / "assets" / "rights"

_STATEMENT = re.compile(r"^http://rightsstatements\.org/vocab/([A-Za-z-]+)/1\.0/$")
_LICENSE = re.compile(r"^http://creativecommons\.org/licenses/([a-z-]+)/[0-9.]+/")
_PUBLIC_DOMAIN = {
    "http://creativecommons.org/publicdomain/zero/1.0/": "cc-zero",
    "http://creativecommons.org/publicdomain/mark/1.0/": "cc-pdm",
}


def badge_name(uri: str | None) -> str | None:
    """The badge file's stem for a rights URI ('rs-InC', 'cc-by-sa', 'cc-zero'), legacy and
    non-canonical forms included; None when no badge is drawn for it."""
    canonical = canonical_rights_uri(uri or "")
    if canonical is None:
        return None
    if canonical in _PUBLIC_DOMAIN:
        name = _PUBLIC_DOMAIN[canonical]
    elif statement := _STATEMENT.match(canonical):
        name = f"rs-{statement.group(1)}"
    elif license_ := _LICENSE.match(canonical):
        name = f"cc-{license_.group(1)}"
    else:
        return None
    return name if (ASSETS / f"{name}.svg").is_file() else None


@cache
def _svg(name: str) -> str:
    return (ASSETS / f"{name}.svg").read_text(encoding="utf-8")


def badge_svg(uri: str | None) -> str | None:
    """The badge's SVG markup for a rights URI, or None when there is none."""
    name = badge_name(uri)
    return _svg(name) if name else None
