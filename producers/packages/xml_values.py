"""Values read from XML elements the way every package metadata reader wants them."""

from __future__ import annotations

import re

from lxml import etree

_URI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


def element_text(element: etree._Element) -> str | None:
    """The element's text with whitespace runs made single spaces; None when blank."""
    text = " ".join("".join(element.itertext()).split())
    return text or None


def child_text(element: etree._Element, ns: str, name: str) -> str | None:
    child = next(element.iterchildren(f"{{{ns}}}{name}"), None)
    return element_text(child) if child is not None else None


def uri_or_none(value: str | None) -> str | None:
    return value if value and _URI.match(value) else None
