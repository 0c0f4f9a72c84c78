"""IIIF Authorization Flow API 2.0: the service chain a staff manifest puts on each image,
and the probe's answer.

The chain is the one clients expect: an ``AuthProbeService2`` (asked whether the image may be
seen) containing an ``AuthAccessService2`` with profile ``active`` (a staff login in a
window), which contains an ``AuthAccessTokenService2`` and an ``AuthLogoutService2``. The probe
answers status 200 only for a published object; everything else is 401, with a heading and a
note a viewer shows instead of the image.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from heritage.iiif.presentation import IiifModel, LanguageMap, Service

AUTH_2_CONTEXT = "http://iiif.io/api/auth/2/context.json"
ACCESS_LABEL = {"en": ["Staff login"]}
ACCESS_CONFIRM_LABEL = {"en": ["Log in"]}
ACCESS_HEADING = {"en": ["This object is not yet published"]}
ACCESS_NOTE = {"en": ["Staff can log in to see objects under embargo or awaiting review."]}
LOGOUT_LABEL = {"en": ["Log out"]}
RESTRICTED_HEADING = {"en": ["Not available"]}
RESTRICTED_NOTE = {
    "en": ["This object is under embargo or awaiting a rights review and is not public yet."]
}


def probe_service_id(base_url: str, object_id: str) -> str:
    """Where ``heritage iiif serve`` answers the probe for one object."""
    return f"{base_url.rstrip('/')}/probe/{quote(object_id, safe='')}"


def auth_probe_service(base_url: str, object_id: str) -> Service:
    """The probe service of one object, with the access, token and logout services inside.
    The access, token and logout services are the same for every object."""
    auth_base = f"{base_url.rstrip('/')}/auth"
    token = Service(id=f"{auth_base}/token", type="AuthAccessTokenService2")
    logout = Service(id=f"{auth_base}/logout", type="AuthLogoutService2", label=LOGOUT_LABEL)
    # The access service's dialogue texts are Auth 2.0 properties the open Service keeps.
    access = Service.model_validate(
        {
            "id": f"{auth_base}/access",
            "type": "AuthAccessService2",
            "profile": "active",
            "label": ACCESS_LABEL,
            "confirmLabel": ACCESS_CONFIRM_LABEL,
            "heading": ACCESS_HEADING,
            "note": ACCESS_NOTE,
            "service": [token, logout],
        }
    )
    return Service(
        id=probe_service_id(base_url, object_id), type="AuthProbeService2", service=[access]
    )


class AuthProbeResult2(IiifModel):
    """The probe's JSON body."""

    context: str = Field(
        default=AUTH_2_CONTEXT, validation_alias="@context", serialization_alias="@context"
    )
    type: Literal["AuthProbeResult2"] = "AuthProbeResult2"
    status: Literal[200, 401]
    heading: LanguageMap | None = None
    note: LanguageMap | None = None


def probe_result(published: bool) -> dict[str, Any]:
    """The AuthProbeResult2 body: 200 for a published object, else 401 with the reason a
    viewer shows."""
    if published:
        result = AuthProbeResult2(status=200)
    else:
        result = AuthProbeResult2(status=401, heading=RESTRICTED_HEADING, note=RESTRICTED_NOTE)
    return result.model_dump(by_alias=True, exclude_none=True)
