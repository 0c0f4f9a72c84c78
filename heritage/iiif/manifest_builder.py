"""IIIF Presentation 3.0 manifests of single-image objects, and provider collections.

Pure: an object's description in, a JSON-ready dict out. The dicts are dumps of the typed
models in :mod:`heritage.iiif.presentation`, so the models are the one statement of the
shape, and building a manifest also validates it. The same input always gives the same JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from heritage.iiif.auth_services import auth_probe_service
from heritage.iiif.presentation import (
    PRESENTATION_3_CONTEXT,
    Annotation,
    AnnotationPage,
    Canvas,
    Collection,
    CollectionItem,
    Homepage,
    IiifClass,
    IiifDocumentError,
    IiifModel,
    Image,
    LabelValue,
    LinkedResource,
    Manifest,
    ManifestRef,
    Service,
    validation_problems,
)

ATTRIBUTION_LABEL = {"en": ["Attribution"]}
# What IIIF accepts as a language map key (the schema's pattern); other keys become "none".
_LANGUAGE_KEY = re.compile(r"[a-zA-Z-]+")


@dataclass(frozen=True)
class ManifestObject:
    """What the builder needs of one object."""

    object_id: str
    titles: dict[str, list[str]]  # language code (or "none") -> titles
    descriptions: dict[str, list[str]]
    metadata: list[tuple[dict[str, list[str]], dict[str, list[str]]]]  # (label, value)
    rights_uri: str  # canonical http form
    data_provider: str
    image_url: str  # the stored original or a derivative served from the object store
    image_format: str | None  # e.g. "image/jpeg"
    width: int  # of the stored image
    height: int
    homepage: str | None  # the object's page at the provider
    see_also: list[str]  # e.g. the source metadata record


def _quoted(identifier: str) -> str:
    return quote(identifier, safe="")


def manifest_id(base_url: str, object_id: str) -> str:
    return f"{base_url.rstrip('/')}/manifests/{_quoted(object_id)}.json"


def collection_id(base_url: str, provider: str) -> str:
    return f"{base_url.rstrip('/')}/collections/{_quoted(provider)}.json"


def language_map(texts: Mapping[str, Sequence[str]]) -> dict[str, list[str]] | None:
    """A IIIF language map of the non-empty texts, or None when there are none. Keys IIIF
    cannot take (``@none``, region digits such as ``es-419``, empty) go under ``none``
    rather than make the manifest invalid."""
    cleaned: dict[str, list[str]] = {}
    for key in sorted(texts):
        values = [text for text in texts[key] if text]
        if values:
            target = key if _LANGUAGE_KEY.fullmatch(key) else "none"
            cleaned.setdefault(target, []).extend(values)
    return cleaned or None


def _metadata(obj: ManifestObject) -> list[LabelValue] | None:
    entries = []
    for label, value in obj.metadata:
        label_map, value_map = language_map(label), language_map(value)
        if label_map and value_map:
            entries.append(LabelValue(label=label_map, value=value_map))
    return entries or None


def _canvas(obj: ManifestObject, base_url: str, image_services: list[Service] | None) -> Canvas:
    stem = manifest_id(base_url, obj.object_id).removesuffix(".json")
    canvas_id = f"{stem}/canvas/1"
    image = Image(
        id=obj.image_url,
        type="Image",
        format=obj.image_format,
        width=obj.width,
        height=obj.height,
        service=image_services,
    )
    painting = Annotation(
        id=f"{stem}/annotation/1",
        type="Annotation",
        motivation="painting",
        body=image,
        target=canvas_id,
    )
    page = AnnotationPage(id=f"{stem}/page/1", type="AnnotationPage", items=[painting])
    return Canvas(id=canvas_id, type="Canvas", width=obj.width, height=obj.height, items=[page])


def _manifest(obj: ManifestObject, base_url: str, image_services: list[Service] | None) -> Manifest:
    title = language_map(obj.titles) or {"none": [obj.object_id]}
    homepage = None
    if obj.homepage:
        homepage = [Homepage(id=obj.homepage, type="Text", format="text/html", label=title)]
    see_also = [LinkedResource(id=url, type="Dataset") for url in obj.see_also] or None
    provider_label = {"none": [obj.data_provider]}
    return Manifest(
        context=PRESENTATION_3_CONTEXT,
        id=manifest_id(base_url, obj.object_id),
        type="Manifest",
        label=title,
        summary=language_map(obj.descriptions),
        metadata=_metadata(obj),
        rights=obj.rights_uri,
        required_statement=LabelValue(label=ATTRIBUTION_LABEL, value=provider_label),
        homepage=homepage,
        see_also=see_also,
        part_of=[
            IiifClass(
                id=collection_id(base_url, obj.data_provider),
                type="Collection",
                label=provider_label,
            )
        ],
        items=[_canvas(obj, base_url, image_services)],
    )


def _dump(model: IiifModel) -> dict[str, Any]:
    document = model.model_dump(by_alias=True, exclude_none=True)
    return {"@context": document.pop("@context"), **document}


def build_manifest(obj: ManifestObject, base_url: str) -> dict[str, Any]:
    """The public manifest of a published object."""
    try:
        return _dump(_manifest(obj, base_url, image_services=None))
    except ValidationError as exc:
        raise IiifDocumentError(
            f"cannot build a IIIF manifest for {obj.object_id!r}", validation_problems(exc)
        ) from None


def build_staff_manifest(obj: ManifestObject, base_url: str) -> dict[str, Any]:
    """The manifest staff viewers load for any object: the image carries the Auth 2.0 probe,
    access, token and logout services, so a viewer asks before it shows."""
    try:
        services = [auth_probe_service(base_url, obj.object_id)]
        return _dump(_manifest(obj, base_url, image_services=services))
    except ValidationError as exc:
        raise IiifDocumentError(
            f"cannot build a IIIF staff manifest for {obj.object_id!r}",
            validation_problems(exc),
        ) from None


def provider_collection(
    provider: str, members: Sequence[tuple[str, str]], base_url: str
) -> dict[str, Any]:
    """The Collection of one provider's manifests, ordered by object id (so the order in
    which members arrive does not change the JSON); members are (object_id, label)."""
    try:
        items: list[CollectionItem] = [
            ManifestRef(
                id=manifest_id(base_url, object_id),
                type="Manifest",
                label={"none": [label or object_id]},
            )
            for object_id, label in sorted(dict(members).items())
        ]
        collection = Collection(
            context=PRESENTATION_3_CONTEXT,
            id=collection_id(base_url, provider),
            type="Collection",
            label={"none": [provider]},
            items=items,
        )
    except ValidationError as exc:
        raise IiifDocumentError(
            f"cannot build the IIIF collection of {provider!r}", validation_problems(exc)
        ) from None
    return _dump(collection)
