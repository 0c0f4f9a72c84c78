"""Human labels of the canonical rights statement URIs shown on the object page."""

from __future__ import annotations

import re

_RIGHTSSTATEMENTS = {
    "InC": "In Copyright",
    "InC-OW-EU": "In Copyright - EU Orphan Work",
    "InC-EDU": "In Copyright - Educational Use Permitted",
    "InC-NC": "In Copyright - Non-Commercial Use Permitted",
    "InC-RUU": "In Copyright - Rights-holder(s) Unlocatable or Unidentifiable",
    "NoC-CR": "No Copyright - Contractual Restrictions",
    "NoC-NC": "No Copyright - Non-Commercial Use Only",
    "NoC-OKLR": "No Copyright - Other Known Legal Restrictions",
    "NoC-US": "No Copyright - United States",
    "CNE": "Copyright Not Evaluated",
    "UND": "Copyright Undetermined",
    "NKC": "No Known Copyright",
}
_CC_LICENSES = {
    "by": "Attribution",
    "by-sa": "Attribution-ShareAlike",
    "by-nd": "Attribution-NoDerivatives",
    "by-nc": "Attribution-NonCommercial",
    "by-nc-sa": "Attribution-NonCommercial-ShareAlike",
    "by-nc-nd": "Attribution-NonCommercial-NoDerivatives",
}


def rights_label(uri: str) -> str:
    """'In Copyright', 'CC BY-SA 4.0', 'Public Domain Mark 1.0', ...; the URI when unknown."""
    statement = re.match(r"^https?://rightsstatements\.org/vocab/([A-Za-z-]+)/1\.0/?$", uri)
    if statement and statement.group(1) in _RIGHTSSTATEMENTS:
        return _RIGHTSSTATEMENTS[statement.group(1)]
    license_ = re.match(r"^https?://creativecommons\.org/licenses/([a-z-]+)/([0-9.]+)", uri)
    if license_ and license_.group(1) in _CC_LICENSES:
        code, version = license_.groups()
        return f"CC {code.upper()} {version} ({_CC_LICENSES[code]})"
    if re.match(r"^https?://creativecommons\.org/publicdomain/zero/1\.0", uri):
        return "CC0 1.0 (Public Domain Dedication)"
    if re.match(r"^https?://creativecommons\.org/publicdomain/mark/1\.0", uri):
        return "Public Domain Mark 1.0"
    return uri
