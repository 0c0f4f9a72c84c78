"""The publication policy: the zone embargo dates are read in, and which rights statements
clear an object for publication (``config/publication.toml``)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heritage.settings import Settings

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[1] / "config" / "publication.toml"
DEFAULT_OPEN_RIGHTS = (
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://rightsstatements.org/vocab/NoC-",
    "http://creativecommons.org/licenses/by/",
    "http://creativecommons.org/licenses/by-sa/",
)
STATUTORY_ACTIONS = ("clear", "review")


class PublicationPolicyError(ValueError):
    """A publication policy that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class PublicationPolicy:
    # IANA zone an embargo date with no zone of its own is read in.
    institution_zone: str = "UTC"
    # Data provider -> the IANA zone of its agreements, where it differs.
    provider_zones: Mapping[str, str] = field(default_factory=dict)
    # Whether open statements clear the rights check without a curator.
    auto_clear_open: bool = True
    # Canonical rights URI prefixes that count as open.
    open_rights: tuple[str, ...] = DEFAULT_OPEN_RIGHTS
    # Years after the creator's death year until the work is public domain.
    statutory_years: int = 70
    # What a passed statutory term does to an In Copyright object: "clear" or "review".
    statutory_action: str = "review"

    @property
    def version(self) -> str:
        """A short digest of the whole policy: events name the rule set they were decided by."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def zone_for(self, data_provider: str | None) -> str:
        """The zone an embargo date of ``data_provider`` is read in when it names none."""
        if data_provider and data_provider in self.provider_zones:
            return self.provider_zones[data_provider]
        return self.institution_zone


def load_publication_policy(settings: Settings) -> PublicationPolicy:
    """HERITAGE_PUBLICATION_CONFIG (default config/publication.toml; without it, built-in
    defaults) with HERITAGE_INSTITUTION_ZONE over the file's institution zone."""
    configured = settings.value("HERITAGE_PUBLICATION_CONFIG", "")
    path = Path(configured) if configured else DEFAULT_POLICY_FILE
    document: dict[str, Any] = {}
    if path.is_file():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            message = f"{path}: not valid TOML ({error}); fix the file"
            raise PublicationPolicyError(message) from error
    elif configured:
        raise PublicationPolicyError(
            f"{path}: publication policy not found; fix HERITAGE_PUBLICATION_CONFIG"
        )
    policy = _policy_from(document, str(path))
    zone = settings.value("HERITAGE_INSTITUTION_ZONE", "").strip()
    if zone:
        _check_zone(zone, "HERITAGE_INSTITUTION_ZONE")
        policy = PublicationPolicy(**{**_fields(policy), "institution_zone": zone})
    return policy


def _fields(policy: PublicationPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in PublicationPolicy.__dataclass_fields__}


def _policy_from(document: Mapping[str, Any], where: str) -> PublicationPolicy:
    institution = _table(document, "institution", where)
    rights = _table(document, "rights", where)
    providers = _table(document, "providers", where)
    zone = str(institution.get("zone", "UTC"))
    _check_zone(zone, f"{where} [institution] zone")
    provider_zones: dict[str, str] = {}
    for name, values in providers.items():
        if not isinstance(values, Mapping) or "zone" not in values:
            raise PublicationPolicyError(f'{where} [providers."{name}"]: give it a zone = "..."')
        provider_zones[str(name)] = str(values["zone"])
        _check_zone(provider_zones[str(name)], f'{where} [providers."{name}"] zone')
    open_rights = rights.get("open", list(DEFAULT_OPEN_RIGHTS))
    if not isinstance(open_rights, list) or not all(isinstance(u, str) for u in open_rights):
        raise PublicationPolicyError(f"{where} [rights] open: a list of URI prefixes")
    for prefix in open_rights:
        # A short prefix ("http://") would clear every statement.
        if not re.fullmatch(r"http://(rightsstatements\.org|creativecommons\.org)/\S+[/-]", prefix):
            raise PublicationPolicyError(
                f"{where} [rights] open: {prefix!r} is not the canonical form of a statement"
                " or family of statements (http://creativecommons.org/licenses/by/,"
                " http://rightsstatements.org/vocab/NoC-, ...)"
            )
    years = rights.get("statutory_years", 70)
    if not isinstance(years, int) or isinstance(years, bool) or not 0 < years <= 200:
        raise PublicationPolicyError(f"{where} [rights] statutory_years: a number of years")
    action = rights.get("statutory_action", "review")
    if action not in STATUTORY_ACTIONS:
        raise PublicationPolicyError(
            f"{where} [rights] statutory_action: {action!r}; use one of {STATUTORY_ACTIONS}"
        )
    auto_clear = rights.get("auto_clear_open", True)
    if not isinstance(auto_clear, bool):
        raise PublicationPolicyError(f"{where} [rights] auto_clear_open: true or false")
    return PublicationPolicy(
        institution_zone=zone,
        provider_zones=provider_zones,
        auto_clear_open=auto_clear,
        open_rights=tuple(open_rights),
        statutory_years=years,
        statutory_action=str(action),
    )


def _table(document: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, Mapping):
        raise PublicationPolicyError(f"{where}: [{name}] must be a table")
    return value


def _check_zone(zone: str, where: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PublicationPolicyError(
            f"{where}: {zone!r} is not an IANA time zone; write one such as 'Europe/Amsterdam'"
        ) from error
