"""The publication policy file: zones, open statements and the statutory term, with errors
that name the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from heritage.publication_settings import (
    DEFAULT_OPEN_RIGHTS,
    PublicationPolicy,
    PublicationPolicyError,
    load_publication_policy,
)
from heritage.settings import load_settings

pytestmark = pytest.mark.zones


def policy_from(tmp_path: Path, text: str, **environment: str) -> PublicationPolicy:
    path = tmp_path / "publication.toml"
    path.write_text(text, encoding="utf-8")
    return load_publication_policy(
        load_settings({"HERITAGE_PUBLICATION_CONFIG": str(path), **environment})
    )


def test_the_project_file_reads_and_the_environment_overrides_the_zone() -> None:
    policy = load_publication_policy(load_settings({}))
    assert policy.institution_zone == "Europe/Amsterdam"
    assert policy.open_rights == DEFAULT_OPEN_RIGHTS
    assert (policy.statutory_years, policy.statutory_action) == (70, "review")
    other = load_publication_policy(
        load_settings({"HERITAGE_INSTITUTION_ZONE": "Pacific/Kiritimati"})
    )
    assert other.institution_zone == "Pacific/Kiritimati"
    assert other.version != policy.version


def test_a_provider_zone_applies_to_that_provider_only(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        '[institution]\nzone = "Europe/Berlin"\n[providers."Te Papa"]\nzone = "Pacific/Auckland"\n',
    )
    assert policy.zone_for("Te Papa") == "Pacific/Auckland"
    assert policy.zone_for("Rijksmuseum") == "Europe/Berlin"
    assert policy.zone_for(None) == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[institution]\nzone = "Mars/Olympus"\n', "not an IANA time zone"),
        ('[rights]\nopen = ["http://"]\n', "not the canonical form"),
        ('[rights]\nopen = ["https://creativecommons.org/licenses/by/"]\n', "canonical form"),
        ('[rights]\nstatutory_action = "publish"\n', "statutory_action"),
        ("[rights]\nstatutory_years = 0\n", "statutory_years"),
        ('[providers."X"]\nname = "x"\n', "give it a zone"),
        ("[rights\n", "not valid TOML"),
    ],
)
def test_a_policy_that_cannot_be_used_is_refused_with_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(PublicationPolicyError, match=message):
        policy_from(tmp_path, text)


def test_a_missing_file_named_in_the_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublicationPolicyError, match="HERITAGE_PUBLICATION_CONFIG"):
        load_publication_policy(
            load_settings({"HERITAGE_PUBLICATION_CONFIG": str(tmp_path / "absent.toml")})
        )
