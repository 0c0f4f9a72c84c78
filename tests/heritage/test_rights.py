from __future__ import annotations

import pytest

from heritage.rights import canonical_rights_uri


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (
            "https://creativecommons.org/licenses/by/4.0/",
            "http://creativecommons.org/licenses/by/4.0/",
        ),
        (
            "http://creativecommons.org/licenses/by-sa/4.0/deed.en",
            "http://creativecommons.org/licenses/by-sa/4.0/",
        ),
        (
            "http://creativecommons.org/publicdomain/zero/1.0",
            "http://creativecommons.org/publicdomain/zero/1.0/",
        ),
        (
            "https://rightsstatements.org/page/InC-EDU/1.0/?language=en",
            "http://rightsstatements.org/vocab/InC-EDU/1.0/",
        ),
        ("http://www.europeana.eu/rights/rr-f/", "http://rightsstatements.org/vocab/InC/1.0/"),
        ("http://www.europeana.eu/rights/unknown/", "http://rightsstatements.org/vocab/CNE/1.0/"),
    ],
)
def test_known_statements_reach_their_canonical_form(given: str, canonical: str) -> None:
    assert canonical_rights_uri(given) == canonical


@pytest.mark.parametrize(
    "unknown",
    ["all rights reserved", "http://example.org/licence/", "", "http://creativecommons.org/"],
)
def test_unknown_statements_are_rejected(unknown: str) -> None:
    assert canonical_rights_uri(unknown) is None
