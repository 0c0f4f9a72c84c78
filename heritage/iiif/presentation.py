"""Typed IIIF Presentation 3.0 documents (pydantic v2).

The models follow the official validator's JSON Schema (``iiif_3_0.json``, draft 7): the same
required properties, the same patterns (``http`` ids, ``http://`` rights, language map keys
that are BCP47 tags or ``none``) and the same closed classes (a Manifest and an
AnnotationPage accept no other properties). Where the schema leaves a class open, the model
keeps unknown properties (``extra="allow"``) so extensions survive a round trip, while the
properties the specification defines are still typed. Unions dispatch on ``type`` so an error
names the one shape that was meant, not every shape that was tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

# Validation context key set by parse_iiif_document: the input is a JSON document.
DOCUMENT_CONTEXT: Final = "iiif_document"
PRESENTATION_3_CONTEXT: Final = "http://iiif.io/api/presentation/3/context.json"

# The schema's patterns, anchored at both ends (the schema's unanchored `$` also lets a
# trailing newline through, which no IIIF client would accept).
_LANGUAGE_KEY = re.compile(r"[a-zA-Z-]+")  # BCP47 letters and hyphens; "none" matches too
_HTTP_URI = re.compile(r"http[^\n]*")
_MEDIA_FORMAT = re.compile(r"[a-z]+/[^\n]*")
_RIGHTS = re.compile(
    r"http://(creativecommons\.org/licenses/|creativecommons\.org/publicdomain/"
    r"|rightsstatements\.org/vocab/)[^\n]*"
)


def _language_key(key: str) -> str:
    if not _LANGUAGE_KEY.fullmatch(key):
        hint = ' ("@none" is the Presentation 2 spelling of "none")' if key == "@none" else ""
        raise ValueError(f'language map key {key!r} is not a BCP47 tag or "none"{hint}')
    return key


def _http_uri(value: str) -> str:
    if not _HTTP_URI.fullmatch(value):
        raise ValueError(f"{value!r} is not an http(s) URI")
    return value


def _media_format(value: str) -> str:
    if not _MEDIA_FORMAT.fullmatch(value):
        raise ValueError(f"{value!r} is not a media type such as image/jpeg")
    return value


def _rights_uri(value: str) -> str:
    if not _RIGHTS.fullmatch(value):
        raise ValueError(
            f"rights {value!r} is not a Creative Commons licence or public-domain tool or a "
            "RightsStatements.org statement in its http:// form"
        )
    return value


def _is_language_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str)
        and _LANGUAGE_KEY.fullmatch(key)
        and isinstance(texts, list)
        and all(isinstance(text, str) for text in texts)
        for key, texts in value.items()
    )


LanguageKey = Annotated[str, AfterValidator(_language_key)]
LanguageMap = dict[LanguageKey, list[str]]
HttpUri = Annotated[str, AfterValidator(_http_uri)]
MediaFormat = Annotated[str, AfterValidator(_media_format)]
RightsUri = Annotated[str, AfterValidator(_rights_uri)]
Bcp47 = Annotated[str, AfterValidator(_language_key)]
Dimension = Annotated[int, Field(gt=0)]
Duration = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)]
StringOrList = str | list[str]
ViewingDirection = Literal["left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top"]
Behavior = Literal[
    "auto-advance",
    "no-auto-advance",
    "repeat",
    "no-repeat",
    "unordered",
    "individuals",
    "continuous",
    "paged",
    "facing-pages",
    "non-paged",
    "multi-part",
    "together",
    "sequence",
    "thumbnail-nav",
    "no-nav",
    "hidden",
]


def _wire_name(name: str) -> Any:
    """A JSON-LD keyword property (``@context``, ``@id``): its Python name builds the model,
    the keyword is what is read and written."""
    return Field(default=None, validation_alias=name, serialization_alias=name)


class IiifModel(BaseModel):
    """Base of every IIIF object: strict types (JSON has no implicit conversions), camelCase
    names on the wire, unknown properties kept."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )

    @classmethod
    def object_problems(
        cls, data: dict[str, Any], from_json: bool
    ) -> list[tuple[tuple[str, ...], str]]:
        """Faults of the object as a whole, as (location, reason). In a document, JSON
        ``null`` is not a value of any typed IIIF property (absent is absent); in Python, a
        None argument means the property is left out."""
        problems: list[tuple[tuple[str, ...], str]] = []
        if not from_json:
            return problems
        for name, field in cls.model_fields.items():
            if field.annotation is Any:
                continue
            for key in dict.fromkeys((name, field.validation_alias or field.alias or name)):
                if isinstance(key, str) and key in data and data[key] is None:
                    problems.append(((key,), "null is not allowed; leave the property out"))
        return problems

    @model_validator(mode="wrap")
    @classmethod
    def _whole_object(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Checked on the input, so such faults are reported alongside any property errors,
        not instead of them."""
        from_json = bool(info.context and info.context.get(DOCUMENT_CONTEXT))
        problems = cls.object_problems(data, from_json) if isinstance(data, dict) else []
        if not problems:
            return handler(data)
        return _raise_with(cls.__name__, data, handler, problems)


class IiifClass(IiifModel):
    """The schema's "class": every IIIF resource has an http id and a type, and may have a
    label."""

    id: HttpUri
    type: str
    label: LanguageMap | None = None


class Service(IiifModel):
    """One entry of a ``service`` list: a Presentation 3 service (``id``/``type``) or an
    Image API 2 one (``@id``/``@type``), open to any further properties."""

    id: str | None = None
    type: str | None = None
    # A language map on a Presentation 3 service; Auth 1 services (@id) carry plain text.
    label: Any = None
    at_id: str | None = _wire_name("@id")
    at_type: str | None = _wire_name("@type")
    profile: str | None = None
    service: list[Service] | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> Service:
        modern = self.id is not None and bool(_HTTP_URI.fullmatch(self.id))
        modern = modern and self.type is not None
        modern = modern and (self.label is None or _is_language_map(self.label))
        legacy = self.at_id is not None and bool(_HTTP_URI.fullmatch(self.at_id))
        legacy = legacy and self.at_type is not None
        if modern and legacy:
            raise ValueError("a service carries either id/type or @id/@type, not both")
        if not (modern or legacy):
            raise ValueError(
                "a service needs an http id and a type (or @id and @type for Image API 2)"
            )
        return self


class LabelValue(IiifModel):
    """A metadata entry or the requiredStatement: two language maps."""

    label: LanguageMap
    value: LanguageMap


class LinkedResource(IiifClass):
    """seeAlso and rendering entries."""

    format: MediaFormat | None = None
    profile: str | None = None


class Homepage(IiifClass):
    format: MediaFormat | None = None
    language: list[Bcp47] | None = None


class Agent(IiifModel):
    """A W3C Web Annotation agent (an annotation's creator or generator)."""

    model_config = ConfigDict(alias_generator=None)

    id: str | None = None
    type: StringOrList | None = None
    name: str | None = None
    nickname: str | None = None
    email: str | None = None
    email_sha1: str | None = None
    homepage: str | None = None


class Audience(IiifModel):
    id: str | None = None
    type: str


class Provider(IiifClass):
    type: Literal["Agent"]
    homepage: list[Homepage] | None = None
    logo: list[Resource] | None = None
    see_also: list[LinkedResource] | None = None


class Geometry(IiifModel):
    type: str
    coordinates: list[Any]


class GeoJsonFeature(IiifModel):
    id: HttpUri | None = None
    type: Literal["Feature"]
    properties: dict[str, Any] | None = None
    geometry: Geometry


class NavPlace(IiifModel):
    id: HttpUri | None = None
    type: str
    features: list[GeoJsonFeature] | None = None


class ContentResource(IiifModel):
    """An external content resource (an annotation body, a thumbnail, a logo) of any type
    other than the W3C special ones."""

    id: HttpUri
    type: str
    label: LanguageMap | None = None
    format: MediaFormat | None = None
    width: Dimension | None = None
    height: Dimension | None = None
    duration: Duration | None = None
    language: str | None = None
    rendering: list[LinkedResource] | None = None
    service: list[Service] | None = None
    thumbnail: list[Resource] | None = None
    annotations: list[AnnotationPageOrRef] | None = None


class Image(ContentResource):
    type: Literal["Image"]


class Video(ContentResource):
    type: Literal["Video"]


class Sound(ContentResource):
    type: Literal["Sound"]


class Text(ContentResource):
    type: Literal["Text"]


class Dataset(ContentResource):
    type: Literal["Dataset"]


class TextualBody(IiifModel):
    id: HttpUri | None = None
    type: Literal["TextualBody"]
    value: str
    format: MediaFormat | None = None
    language: str | None = None
    processing_language: str | None = None
    text_direction: Literal["ltr", "rtl", "auto"] | None = None
    purpose: StringOrList | None = None
    creator: str | Agent | None = None
    created: str | None = None
    modified: str | None = None


class Choice(IiifModel):
    id: str | None = None
    type: Literal["Choice"]
    items: list[Resource]


class PointSelector(IiifModel):
    type: Literal["PointSelector"]
    t: Duration | None = None
    x: Dimension | None = None
    y: Dimension | None = None


class FragmentSelector(IiifModel):
    type: Literal["FragmentSelector"]
    conforms_to: HttpUri | None = None
    value: Any


class SvgSelector(IiifModel):
    type: Literal["SvgSelector"]
    value: Any


class ImageApiSelector(IiifModel):
    type: Literal["ImageApiSelector"]


class XPathSelector(IiifModel):
    type: Literal["XPathSelector"]
    value: str


class CssSelector(IiifModel):
    type: Literal["CssSelector"]
    value: str


class TextQuoteSelector(IiifModel):
    type: Literal["TextQuoteSelector"]
    exact: str
    prefix: str | None = None
    suffix: str | None = None


class TextPositionSelector(IiifModel):
    type: Literal["TextPositionSelector"]
    start: int
    end: int


class DataPositionSelector(IiifModel):
    type: Literal["DataPositionSelector"]
    start: int
    end: int


class RangeSelector(IiifModel):
    type: Literal["RangeSelector"]
    start_selector: Selector
    end_selector: Selector
    refined_by: Selector | None = None


class TimeState(IiifModel):
    type: Literal["TimeState"]
    source_date: str | None = None
    source_date_start: str | None = None
    source_date_end: str | None = None
    cached: str | None = None


class HttpRequestState(IiifModel):
    type: Literal["HttpRequestState"]
    value: str


class CssStylesheet(IiifModel):
    id: str | None = None
    type: Literal["CssStylesheet"]
    value: str | None = None


class SpecificResource(IiifModel):
    id: HttpUri | None = None
    type: Literal["SpecificResource"] | None = None
    format: MediaFormat | None = None
    accessibility: str | None = None
    source: UriOrResource
    scope: HttpUri | None = None
    selector: Selector | list[Selector] | None = None
    state: State | list[State] | None = None
    style_class: StringOrList | None = None
    rendered_via: Agent | list[Agent] | None = None
    purpose: StringOrList | None = None


class Reference(IiifModel):
    """A reference to a resource described elsewhere: id, type and label, never ``items``."""

    id: HttpUri
    type: Literal["Manifest", "AnnotationPage", "Collection", "Canvas", "Range"]
    label: LanguageMap | None = None
    thumbnail: list[Resource] | None = None

    @model_validator(mode="after")
    def _no_items(self) -> Reference:
        if self.model_extra and "items" in self.model_extra:
            raise ValueError(f"a reference to a {self.type} must not embed its items")
        return self


class ManifestRef(Reference):
    type: Literal["Manifest"]


class CollectionRef(Reference):
    type: Literal["Collection"]
    label: LanguageMap


class CanvasRef(Reference):
    type: Literal["Canvas"]
    part_of: list[IiifClass] | None = None


class RangeRef(Reference):
    type: Literal["Range"]


class AnnotationPageRef(Reference):
    type: Literal["AnnotationPage"]


class AnnotationCollection(IiifClass):
    context: Context | None = _wire_name("@context")
    type: Literal["AnnotationCollection"]
    metadata: list[LabelValue] | None = None
    summary: LanguageMap | None = None
    required_statement: LabelValue | None = None
    rendering: list[LinkedResource] | None = None
    rights: RightsUri | None = None
    part_of: list[IiifClass] | None = None
    provider: list[Provider] | None = None
    next: PageLink | None = None
    first: PageLink | None = None
    last: PageLink | None = None
    service: list[Service] | None = None
    total: Annotated[int, Field(gt=0)] | None = None
    thumbnail: list[Resource] | None = None


class Annotation(IiifModel):
    context: AnnotationContext | None = _wire_name("@context")
    id: HttpUri
    type: Literal["Annotation"]
    motivation: StringOrList | None = None
    body: Body | None = None
    target: Target | None = None
    created: str | None = None
    modified: str | None = None
    generated: str | None = None
    creator: Agents | None = None
    generator: Agents | None = None
    audience: Audience | list[Audience] | None = None
    body_value: str | None = None
    canonical: str | None = None
    via: StringOrList | None = None
    stylesheet: str | CssStylesheet | None = None
    service: list[Service] | None = None
    rendering: list[LinkedResource] | None = None
    thumbnail: list[Resource] | None = None


class AnnotationPage(IiifClass):
    """A page of annotations; closed, as in the schema (no ``annotations`` on a page)."""

    model_config = ConfigDict(extra="forbid")

    context: Context | None = _wire_name("@context")
    type: Literal["AnnotationPage"]
    items: list[Annotation]
    rendering: list[LinkedResource] | None = None
    service: list[Service] | None = None
    thumbnail: list[Resource] | None = None
    part_of: list[AnnotationCollection] | None = None
    next: PageLink | None = None
    prev: PageLink | None = None
    first: PageLink | None = None
    last: PageLink | None = None


def _canvas_extent_problem(data: dict[str, Any]) -> str | None:
    has_width, has_height = data.get("width") is not None, data.get("height") is not None
    if has_width != has_height:
        given, missing = ("width", "height") if has_width else ("height", "width")
        return f"a Canvas with {given} needs {missing} too (both or neither)"
    if not (has_width or data.get("duration") is not None):
        return "a Canvas needs width and height, or a duration, or both"
    return None


class Canvas(IiifClass):
    """A Canvas: width and height together, or a duration, or both."""

    type: Literal["Canvas"]
    width: Dimension | None = None
    height: Dimension | None = None
    duration: Duration | None = None
    metadata: list[LabelValue] | None = None
    summary: LanguageMap | None = None
    required_statement: LabelValue | None = None
    rendering: list[LinkedResource] | None = None
    rights: RightsUri | None = None
    nav_date: str | None = None
    nav_place: NavPlace | None = None
    provider: list[Provider] | None = None
    see_also: list[LinkedResource] | None = None
    service: list[Service] | None = None
    placeholder_canvas: SupplementaryCanvas | None = None
    accompanying_canvas: SupplementaryCanvas | None = None
    thumbnail: list[Resource] | None = None
    homepage: list[Homepage] | None = None
    behavior: list[Behavior] | None = None
    part_of: list[IiifClass] | None = None
    items: list[AnnotationPage]
    annotations: list[AnnotationPageOrRef] | None = None

    @classmethod
    def object_problems(
        cls, data: dict[str, Any], from_json: bool
    ) -> list[tuple[tuple[str, ...], str]]:
        """Width and height come together, and a Canvas has an extent."""
        problems = super().object_problems(data, from_json)
        extent = _canvas_extent_problem(data)
        return problems if extent is None else [*problems, ((), extent)]


class SupplementaryCanvas(Canvas):
    """A placeholderCanvas or accompanyingCanvas: a Canvas that has not got both itself."""

    @model_validator(mode="after")
    def _not_both(self) -> SupplementaryCanvas:
        if self.placeholder_canvas is not None and self.accompanying_canvas is not None:
            raise ValueError("a placeholder or accompanying Canvas may not have both itself")
        return self


class Range(IiifClass):
    type: Literal["Range"]
    items: list[RangeItem]
    rendering: list[LinkedResource] | None = None
    supplementary: AnnotationCollection | None = None
    service: list[Service] | None = None
    placeholder_canvas: SupplementaryCanvas | None = None
    accompanying_canvas: SupplementaryCanvas | None = None
    behavior: list[Behavior] | None = None
    annotations: list[AnnotationPageOrRef] | None = None
    thumbnail: list[Resource] | None = None


class _Described(IiifClass):
    """What Manifests and Collections share."""

    context: Context | None = _wire_name("@context")
    label: LanguageMap
    metadata: list[LabelValue] | None = None
    summary: LanguageMap | None = None
    required_statement: LabelValue | None = None
    rights: RightsUri | None = None
    provider: list[Provider] | None = None
    homepage: list[Homepage] | None = None
    see_also: list[LinkedResource] | None = None
    rendering: list[LinkedResource] | None = None
    part_of: list[IiifClass] | None = None
    thumbnail: list[Resource] | None = None
    nav_date: str | None = None
    nav_place: NavPlace | None = None
    behavior: list[Behavior] | None = None
    service: list[Service] | None = None
    services: list[Service] | None = None
    placeholder_canvas: SupplementaryCanvas | None = None
    accompanying_canvas: SupplementaryCanvas | None = None
    annotations: list[AnnotationPageOrRef] | None = None


class Manifest(_Described):
    """A Manifest; closed, as in the schema: a property it does not define is an error."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Manifest"]
    items: list[Canvas]
    structures: list[Range] | None = None
    viewing_direction: ViewingDirection | None = None
    start: Any = None


class Collection(_Described):
    type: Literal["Collection"]
    items: list[CollectionItem] | None = None


# --- unions, dispatched on the input's shape so errors name the intended class ---------


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _has(value: Any, name: str) -> bool:
    return name in value if isinstance(value, dict) else _field(value, name) is not None


def _kind(value: Any) -> str | None:
    kind = _field(value, "type")
    return kind if isinstance(kind, str) else None


def _is_object(value: Any) -> bool:
    return isinstance(value, dict | BaseModel)


_MEDIA_CLASSES = {"Image", "Video", "Sound", "Text", "Dataset"}
_SPECIAL_BODIES = {"TextualBody", "SpecificResource", "Choice", "Feature"}


def _resource_tag(value: Any) -> str | None:
    if not _is_object(value):
        return None
    kind = _kind(value)
    if kind is None and _has(value, "source"):
        return "<SpecificResource>"
    if kind in _MEDIA_CLASSES or kind in _SPECIAL_BODIES:
        return f"<{kind}>"
    return "<ContentResource>"


def _uri_or_object_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<uri>"
    return "<object>" if _is_object(value) else None


def _object_or_array_tag(value: Any) -> str | None:
    if isinstance(value, list):
        return "<array>"
    return "<object>" if _is_object(value) else None


_SELECTOR_CLASSES = {
    "PointSelector",
    "FragmentSelector",
    "SvgSelector",
    "ImageApiSelector",
    "XPathSelector",
    "CssSelector",
    "TextQuoteSelector",
    "TextPositionSelector",
    "DataPositionSelector",
    "RangeSelector",
}


def _selector_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<uri>"
    kind = _kind(value) if _is_object(value) else None
    return f"<{kind}>" if kind in _SELECTOR_CLASSES else None


def _state_tag(value: Any) -> str | None:
    kind = _kind(value) if _is_object(value) else None
    return f"<{kind}>" if kind in ("TimeState", "HttpRequestState") else None


def _target_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<uri>"
    if not _is_object(value):
        return None
    kind = _kind(value)
    if kind == "SpecificResource" or (kind is None and _has(value, "source")):
        return "<SpecificResource>"
    return f"<{kind}>" if kind in ("Canvas", "Manifest") else None


def _embedded_or_ref(kinds: set[str]) -> Callable[[Any], str | None]:
    """Tags a Canvas/Range/Collection/AnnotationPage as embedded (it has ``items``) or as a
    reference; any other type gets no tag, which is the error."""

    def tag(value: Any) -> str | None:
        if isinstance(value, str) and "AnnotationPage" in kinds:
            return "<uri>"
        if not _is_object(value):
            return None
        kind = _kind(value)
        if kind == "SpecificResource" and "SpecificResource" in kinds:
            return "<SpecificResource>"
        if kind is None and "SpecificResource" in kinds and _has(value, "source"):
            return "<SpecificResource>"
        if kind not in kinds:
            return None
        if kind == "Manifest":
            return "<ManifestRef>"
        return f"<{kind}>" if _has(value, "items") else f"<{kind}Ref>"

    return tag


def _dispatch(function: Callable[[Any], str | None], error: str, message: str) -> Discriminator:
    return Discriminator(function, custom_error_type=error, custom_error_message=message)


Resource = Annotated[
    Annotated[Image, Tag("<Image>")]
    | Annotated[Video, Tag("<Video>")]
    | Annotated[Sound, Tag("<Sound>")]
    | Annotated[Text, Tag("<Text>")]
    | Annotated[Dataset, Tag("<Dataset>")]
    | Annotated[ContentResource, Tag("<ContentResource>")]
    | Annotated[TextualBody, Tag("<TextualBody>")]
    | Annotated[SpecificResource, Tag("<SpecificResource>")]
    | Annotated[Choice, Tag("<Choice>")]
    | Annotated[GeoJsonFeature, Tag("<Feature>")],
    _dispatch(_resource_tag, "resource_type", "a content resource must be a JSON object"),
]
UriOrResource = Annotated[
    Annotated[HttpUri, Tag("<uri>")] | Annotated[Resource, Tag("<object>")],
    _dispatch(_uri_or_object_tag, "source_type", "a source is a URI or a content resource"),
]
Body = Annotated[
    Annotated[Resource, Tag("<object>")] | Annotated[list[Resource], Tag("<array>")],
    _dispatch(_object_or_array_tag, "body_type", "a body is a resource or a list of them"),
]
Selector = Annotated[
    Annotated[HttpUri, Tag("<uri>")]
    | Annotated[PointSelector, Tag("<PointSelector>")]
    | Annotated[FragmentSelector, Tag("<FragmentSelector>")]
    | Annotated[SvgSelector, Tag("<SvgSelector>")]
    | Annotated[ImageApiSelector, Tag("<ImageApiSelector>")]
    | Annotated[XPathSelector, Tag("<XPathSelector>")]
    | Annotated[CssSelector, Tag("<CssSelector>")]
    | Annotated[TextQuoteSelector, Tag("<TextQuoteSelector>")]
    | Annotated[TextPositionSelector, Tag("<TextPositionSelector>")]
    | Annotated[DataPositionSelector, Tag("<DataPositionSelector>")]
    | Annotated[RangeSelector, Tag("<RangeSelector>")],
    _dispatch(_selector_tag, "selector_type", "not a URI or a known W3C selector type"),
]
State = Annotated[
    Annotated[TimeState, Tag("<TimeState>")]
    | Annotated[HttpRequestState, Tag("<HttpRequestState>")],
    _dispatch(_state_tag, "state_type", "a state is a TimeState or an HttpRequestState"),
]
AnnoTarget = Annotated[
    Annotated[HttpUri, Tag("<uri>")]
    | Annotated[SpecificResource, Tag("<SpecificResource>")]
    | Annotated[CanvasRef, Tag("<Canvas>")]
    | Annotated[ManifestRef, Tag("<Manifest>")],
    _dispatch(
        _target_tag,
        "target_type",
        "an annotation target is a URI, a SpecificResource, a Canvas or a Manifest",
    ),
]
Target = Annotated[
    Annotated[AnnoTarget, Tag("<object>")] | Annotated[list[AnnoTarget], Tag("<array>")],
    Discriminator(lambda value: "<array>" if isinstance(value, list) else "<object>"),
]
AnnotationPageOrRef = Annotated[
    Annotated[AnnotationPage, Tag("<AnnotationPage>")]
    | Annotated[AnnotationPageRef, Tag("<AnnotationPageRef>")]
    | Annotated[str, Tag("<uri>")],
    _dispatch(
        _embedded_or_ref({"AnnotationPage"}),
        "annotation_page_type",
        "annotations may only hold AnnotationPages",
    ),
]
PageLink = Annotated[
    Annotated[AnnotationPageRef, Tag("<AnnotationPageRef>")] | Annotated[str, Tag("<uri>")],
    _dispatch(
        lambda value: "<uri>" if isinstance(value, str) else "<AnnotationPageRef>",
        "annotation_page_type",
        "a page link is a URI or an AnnotationPage reference",
    ),
]
RangeItem = Annotated[
    Annotated[SpecificResource, Tag("<SpecificResource>")]
    | Annotated[Canvas, Tag("<Canvas>")]
    | Annotated[CanvasRef, Tag("<CanvasRef>")]
    | Annotated[Range, Tag("<Range>")]
    | Annotated[RangeRef, Tag("<RangeRef>")],
    _dispatch(
        _embedded_or_ref({"Canvas", "Range", "SpecificResource"}),
        "range_item_type",
        "a Range's items may only be Canvases, Ranges and SpecificResources",
    ),
]
CollectionItem = Annotated[
    Annotated[ManifestRef, Tag("<ManifestRef>")]
    | Annotated[CollectionRef, Tag("<CollectionRef>")]
    | Annotated[Collection, Tag("<Collection>")],
    _dispatch(
        _embedded_or_ref({"Collection", "Manifest"}),
        "collection_item_type",
        "a Collection's items may only be Collections and Manifests",
    ),
]
Context = list[HttpUri] | Literal["http://iiif.io/api/presentation/3/context.json"]
AnnotationContext = list[HttpUri] | str
Agents = str | Agent | list[str | Agent]

IiifDocument = Manifest | Collection | AnnotationPage | Annotation | AnnotationCollection

for _model in (
    Service,
    Provider,
    ContentResource,
    Image,
    Video,
    Sound,
    Text,
    Dataset,
    TextualBody,
    Choice,
    RangeSelector,
    SpecificResource,
    Reference,
    ManifestRef,
    CollectionRef,
    CanvasRef,
    RangeRef,
    AnnotationPageRef,
    AnnotationCollection,
    Annotation,
    AnnotationPage,
    Canvas,
    SupplementaryCanvas,
    Range,
    Manifest,
    Collection,
):
    _model.model_rebuild()


# --- errors ---------------------------------------------------------------------------


def _raise_with(
    title: str,
    data: Any,
    handler: ValidatorFunctionWrapHandler,
    problems: list[tuple[tuple[str, ...], str]],
) -> Any:
    """Raises the object's own property errors together with its whole-object problems."""
    details: list[InitErrorDetails] = []
    try:
        handler(data)
    except ValidationError as exc:
        details = [
            InitErrorDetails(
                type=PydanticCustomError(error["type"], error["msg"].replace("{", "{{")),
                loc=error["loc"],
                input=error["input"],
            )
            for error in exc.errors(include_url=False, include_context=False)
        ]
    for loc, reason in problems:
        details.append(
            InitErrorDetails(
                type=PydanticCustomError("iiif_object", reason.replace("{", "{{")),
                loc=loc,
                input=data,
            )
        )
    raise ValidationError.from_exception_data(title, details)


class IiifDocumentError(ValueError):
    """A document that is not valid IIIF Presentation 3.0 (or not the class asked for);
    ``problems`` holds (JSON path, reason) pairs."""

    def __init__(self, summary: str, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "".join(f"\n  {path}: {reason}" for path, reason in problems)
        super().__init__(f"{summary}{lines}")


# Locations pydantic adds for union members: our tags, type reprs, model class names.
_UNION_MEMBER = re.compile(r"<[^>]*>|[a-z][a-z-]*\[.*\]|constrained-[a-z]+|str|int|float|bool")


def _model_names(model: type[IiifModel]) -> set[str]:
    names = {model.__name__}
    for subclass in model.__subclasses__():
        names |= _model_names(subclass)
    return names


_MODEL_NAMES = frozenset(_model_names(IiifModel))


def json_path(loc: tuple[int | str, ...]) -> str:
    """``('items', 0, 'body', '<Image>', 'service')`` -> ``/items[0]/body/service``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (part == "[key]" or part in _MODEL_NAMES or _UNION_MEMBER.fullmatch(part)):
            path += f"/{part}"
    return path or "/"


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(JSON path, reason) for each error of a model validation, in document order."""
    problems = []
    for error in exc.errors(include_url=False):
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "property not allowed here"
        elif error["type"] == "missing":
            reason = "required property missing"
        problems.append((json_path(tuple(error["loc"])), reason))
    return list(dict.fromkeys(problems))


_DOCUMENT_CLASSES: dict[str, type[IiifModel]] = {
    "Manifest": Manifest,
    "Collection": Collection,
    "AnnotationPage": AnnotationPage,
    "Annotation": Annotation,
    "AnnotationCollection": AnnotationCollection,
}


def parse_iiif_document(data: Any) -> IiifModel:
    """The typed document for parsed JSON, chosen by its top-level ``type``; raises
    :class:`IiifDocumentError` listing every problem with its JSON path."""
    if not isinstance(data, dict):
        raise IiifDocumentError(
            "not a IIIF Presentation 3.0 document",
            [("/", f"a document is a JSON object, not {type(data).__name__}")],
        )
    kind = data.get("type")
    model = _DOCUMENT_CLASSES.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = ", ".join(_DOCUMENT_CLASSES)
        raise IiifDocumentError(
            "not a IIIF Presentation 3.0 document",
            [("/type", f"{kind!r} is not one of {expected}")],
        )
    try:
        # Documents are read by their JSON names only (no ``see_also`` for ``seeAlso``).
        return model.model_validate(data, by_name=False, context={DOCUMENT_CONTEXT: True})
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise IiifDocumentError(
            f"invalid IIIF Presentation 3.0 {kind} ({len(problems)} problems)", problems
        ) from None


def parse_manifest(data: Any) -> Manifest:
    """A Manifest; a valid document of another class is refused for not being one."""
    document = parse_iiif_document(data)
    if not isinstance(document, Manifest):
        kind = type(document).__name__
        raise IiifDocumentError(
            "not a Manifest", [("/type", f"a valid IIIF {kind}, not a Manifest")]
        )
    return document
