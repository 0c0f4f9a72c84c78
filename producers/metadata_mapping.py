"""Source metadata formats mapped onto the common record model (COMMON_RECORD_FIELDS).

Pure: an lxml element in, a dict out, no I/O. Values stay as the source wrote them
(trimmed); validating and normalising dates, rights and types is the cleanse stage's job,
so a mapping neither drops nor invents content, and a field the source does not fill is
simply absent. A few things are crosswalked rather than copied, because the model defines
them that way: language terms become ISO 639 codes (``ger``, ``deu`` -> ``de``), a DCMI
type term becomes a Europeana type (``Text`` -> ``TEXT``), a LIDO object classification
without a Europeana type gets one from :data:`EUROPEANA_TYPE_BY_CLASSIFICATION`
(``Gemälde`` -> ``IMAGE``), and a LIDO licence written by name with its version becomes
its URI (``CC BY-SA 4.0``). A value repeated verbatim inside one list field is kept once
(``dc:creator`` written four times is one creator). docs/source_mappings.md describes
each format's mapping.

LIDO embargoes: a ``rightsWorkWrap/rightsWorkSet`` whose ``rightsType`` term (``lido:term``
or ``skos:prefLabel``) names an embargo or restriction (whole words, any case: embargo,
embargo until, Sperrfrist, Schutzfrist, restricted, access restriction,
Zugangsbeschränkung; not "unrestricted"), or whose concept id contains "embargo", ends at
its ``rightsDate/latestDate`` (else ``earliestDate``); with several, the latest end wins;
one without a date holds indefinitely. The end is read by :mod:`heritage.embargo_time` in
the data provider's zone from the publication policy; a value it refuses rejects the
record (MappingError). ``creator_death_year`` is the latest year among the creators'
``vitalDatesActor/latestDate`` (a year or an ISO date), absent when any creator's is not
known (a living or unknown co-creator keeps the work in copyright).

Also here: :func:`lido_record_problems`, the content rules a LIDO record must pass before
the file-drop producer publishes it. They cover what the LIDO XSD cannot see (blank
values, placeholders, shortened or invented vocabulary URIs, missing rights, broken links)
plus the few once-only elements that data providers most often repeat.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from lxml import etree

from heritage.embargo_time import EmbargoDateError, EmbargoEnd
from heritage.producers.embargo_inputs import (
    CREATOR_DEATH_YEAR,
    INDEFINITE_EMBARGO_UNTIL,
    death_year,
    latest_end_fields,
    latest_year,
    source_embargo_end,
)
from heritage.publication_settings import PublicationPolicy
from heritage.rights import canonical_rights_uri
from heritage.source_rejections import SourceRejection

SUPPORTED_PREFIXES = ("oai_dc", "lido", "edm", "iso19139")

# Key of dcTitleLangAware for a title whose language the source does not state (Europeana's).
UNKNOWN_LANGUAGE_KEY = "def"

LIDO_NS = "http://www.lido-schema.org"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {
    "lido": LIDO_NS,
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "edm": "http://www.europeana.eu/schemas/edm/",
    "ore": "http://www.openarchives.org/ore/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gmi": "http://www.isotc211.org/2005/gmi",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "xlink": "http://www.w3.org/1999/xlink",
}
_LIDO_TYPE = f"{{{LIDO_NS}}}type"
_LIDO_PREF = f"{{{LIDO_NS}}}pref"
_RDF_ABOUT = f"{{{NS['rdf']}}}about"
_RDF_RESOURCE = f"{{{NS['rdf']}}}resource"
_XLINK_HREF = f"{{{NS['xlink']}}}href"
# Attributes that hold a link to a concept or a statement, wherever a source puts them.
_LINK_ATTRIBUTES = (_RDF_ABOUT, _RDF_RESOURCE, _XLINK_HREF)


class MappingError(SourceRejection):
    """The metadata cannot be mapped: the message names the field or element and the fix."""


# ISO 639-2 (bibliographic and terminology) codes that have an ISO 639-1 code. Codes not
# listed stay as three-letter ISO 639-2 codes, which are valid ISO 639 too.
_ISO639_2_TO_1 = {
    "alb": "sq", "sqi": "sq", "ara": "ar", "arm": "hy", "hye": "hy", "baq": "eu", "eus": "eu",
    "bel": "be", "ben": "bn", "bos": "bs", "bre": "br", "bul": "bg", "cat": "ca", "chi": "zh",
    "zho": "zh", "cze": "cs", "ces": "cs", "dan": "da", "dut": "nl", "nld": "nl", "eng": "en",
    "est": "et", "fao": "fo", "fin": "fi", "fre": "fr", "fra": "fr", "fry": "fy", "geo": "ka",
    "kat": "ka", "ger": "de", "deu": "de", "gla": "gd", "gle": "ga", "glg": "gl", "gre": "el",
    "ell": "el", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "ice": "is", "isl": "is",
    "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "lat": "la", "lav": "lv", "lit": "lt",
    "ltz": "lb", "mac": "mk", "mkd": "mk", "may": "ms", "msa": "ms", "mlt": "mt", "nor": "no",
    "nob": "nb", "nno": "nn", "oci": "oc", "per": "fa", "fas": "fa", "pol": "pl", "por": "pt",
    "roh": "rm", "rum": "ro", "ron": "ro", "rus": "ru", "slo": "sk", "slk": "sk", "slv": "sl",
    "sme": "se", "spa": "es", "srp": "sr", "swe": "sv", "tam": "ta", "tha": "th", "tur": "tr",
    "ukr": "uk", "urd": "ur", "vie": "vi", "wel": "cy", "cym": "cy", "yid": "yi",
}  # fmt: skip
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def iso639_language(value: str) -> str:
    """A language term as an ISO 639 code: ``ger`` -> ``de``, ``EN`` -> ``en``, ``de-DE`` ->
    ``de``, ``eng; CAN`` -> ``en``. A term that is no code (``deutsch``) comes back as
    written, trimmed, so the cleanse stage can name it."""
    text = value.strip()
    first = re.split(r"[\s;,]+", text, maxsplit=1)[0]
    match = _LANGUAGE_TAG.fullmatch(first)
    if not match:
        return text
    code = match.group(1).lower()
    return _ISO639_2_TO_1.get(code, code)


def is_language_code(value: str) -> bool:
    """True for an ISO 639 code, optionally with BCP 47 subtags (``de``, ``deu``, ``en-GB``)."""
    return _LANGUAGE_TAG.fullmatch(value.strip()) is not None


# DCMI Type vocabulary terms that have a Europeana type.
_DCMI_TO_EUROPEANA_TYPE = {
    "text": "TEXT",
    "image": "IMAGE",
    "stillimage": "IMAGE",
    "movingimage": "VIDEO",
    "sound": "SOUND",
}


def europeana_type_from_dcmi(values: Sequence[str]) -> str | None:
    """The Europeana type of the first DCMI type term among ``values`` (``Text``,
    ``http://purl.org/dc/dcmitype/StillImage``); else the first value as written."""
    for value in values:
        term = value.strip().rsplit("/", 1)[-1].replace(" ", "").lower()
        if term in _DCMI_TO_EUROPEANA_TYPE:
            return _DCMI_TO_EUROPEANA_TYPE[term]
    return next((v.strip() for v in values if v.strip()), None)


def map_record(
    metadata_prefix: str, metadata: etree._Element, policy: PublicationPolicy | None = None
) -> dict[str, Any]:
    """The element inside an OAI-PMH ``<metadata>`` mapped onto the common record model;
    ``policy`` is the publication policy embargo dates are read by (LIDO)."""
    match metadata_prefix:
        case "oai_dc":
            return map_oai_dc_record(metadata)
        case "lido":
            return map_lido_record(metadata, policy)
        case "edm":
            return map_edm_record(metadata)
        case "iso19139":
            return map_iso19139_record(metadata)
    raise MappingError(
        f"metadataPrefix {metadata_prefix!r} has no mapping onto the common record model; "
        f"harvest with one of {', '.join(SUPPORTED_PREFIXES)}"
    )


# --- shared helpers -------------------------------------------------------------------


def _xp(element: etree._Element, path: str) -> list[Any]:
    return list(element.xpath(path, namespaces=NS))


_STRING_VALUE = etree.XPath("string()")


def _text(node: Any) -> str:
    """The trimmed text of an element (descendant text, comments left out) or attribute."""
    if isinstance(node, str):
        return node.strip()
    return str(_STRING_VALUE(node)).strip()


def _local_name(element: etree._Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _texts(nodes: Iterable[Any]) -> list[str]:
    return [value for value in (_text(node) for node in nodes) if value]


def _first(nodes: Iterable[Any]) -> str | None:
    return next(iter(_texts(nodes)), None)


def _language_of(element: etree._Element) -> str | None:
    """The xml:lang in force for an element (its own or the nearest ancestor's)."""
    found = element.xpath("ancestor-or-self::*[@xml:lang][1]/@xml:lang")
    return str(found[0]).strip() if found and str(found[0]).strip() else None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _titles_by_language(titles: Iterable[tuple[str | None, str]]) -> dict[str, list[str]]:
    # dicts as ordered sets: a membership test per title must not scan the titles so far
    by_language: dict[str, dict[str, None]] = {}
    for language, title in titles:
        key = (iso639_language(language) if language else "") or UNKNOWN_LANGUAGE_KEY
        by_language.setdefault(key, {})[title] = None
    return {key: list(values) for key, values in by_language.items()}


def _common_record(**fields: Any) -> dict[str, Any]:
    """The record with empty fields left out and verbatim repeats in lists kept once."""
    record: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, list):
            value = _unique(v for v in value if v)
        if value:
            record[name] = value
    return record


def _expect(element: etree._Element, namespace: str, names: Sequence[str], prefix: str) -> str:
    """The local name of ``element`` when it is one of ``names`` in ``namespace``."""
    if not isinstance(element.tag, str):
        raise MappingError(f"metadataPrefix {prefix!r}: expected an element, got {element!r}")
    qname = etree.QName(element)
    if qname.namespace != namespace or qname.localname not in names:
        wanted = " or ".join(f"{{{namespace}}}{name}" for name in names)
        raise MappingError(
            f"metadataPrefix {prefix!r} expects {wanted} inside <metadata>, got {element.tag}; "
            f"check that the records were harvested with metadataPrefix={prefix}"
        )
    return str(qname.localname)


# --- Dublin Core (oai_dc) ---------------------------------------------------------------


def map_oai_dc_record(dc: etree._Element) -> dict[str, Any]:
    """``oai_dc:dc`` -> common record. ``id`` is the first ``dc:identifier``: a harvester that
    knows the OAI header identifier should put that in its place. Dublin Core has no image
    link, data provider or change time, so those stay absent."""
    _expect(dc, NS["oai_dc"], ("dc",), "oai_dc")
    titles = [(_language_of(e), _text(e)) for e in _xp(dc, "dc:title") if _text(e)]
    return _common_record(
        id=_first(_xp(dc, "dc:identifier")),
        type=europeana_type_from_dcmi(_texts(_xp(dc, "dc:type"))),
        title=[title for _, title in titles],
        dcTitleLangAware=_titles_by_language(titles),
        dcCreator=_texts(_xp(dc, "dc:creator")),
        dcDescription=_texts(_xp(dc, "dc:description")),
        dcDate=_texts(_xp(dc, "dc:date")),
        rights=_texts(_xp(dc, "dc:rights")),
        language=[iso639_language(v) for v in _texts(_xp(dc, "dc:language"))],
    )


# --- LIDO -----------------------------------------------------------------------------

_PREFERRED = ("preferred", "http://terminology.lido-schema.org/lido00169")
_ALTERNATE = ("alternate", "alternative", "http://terminology.lido-schema.org/lido00170")
# Event types whose actors made the object (Europeana's LIDO profile: production, creation,
# designing, planning), as LIDO terminology URIs, legacy lexical URIs and CIDOC CRM classes.
_CREATION_EVENT_TYPES = {
    "http://terminology.lido-schema.org/lido00007",  # production
    "http://terminology.lido-schema.org/lido00012",  # creation
    "http://terminology.lido-schema.org/lido00224",  # designing
    "http://terminology.lido-schema.org/lido00032",  # planning
    "http://terminology.lido-schema.org/eventType/production",
    "http://terminology.lido-schema.org/eventType/creation",
    "http://terminology.lido-schema.org/eventType/designing",
    "http://erlangen-crm.org/current/E12_Production",
    "http://erlangen-crm.org/current/E65_Creation",
}
# The same, as providers write the term (English and German, the corpus' languages).
_CREATION_TERM_STEMS = (
    "production",
    "creation",
    "design",
    "planning",
    "herstellung",
    "hergestellt",
    "entwurf",
    "fotografische aufnahme",
)
# Representation types: the full image first (Europeana's edm:isShownBy), previews last.
_FULL_IMAGE_TYPES = ("http://terminology.lido-schema.org/lido00464", "image_master")
_PREVIEW_TYPES = ("http://terminology.lido-schema.org/lido00451", "image_thumb", "image_preview")


def _lido_element(element: etree._Element) -> etree._Element:
    """The ``lido:lido`` record itself, or the first one inside a ``lido:lidoWrap``."""
    if _expect(element, LIDO_NS, ("lido", "lidoWrap"), "lido") == "lido":
        return element
    records = _xp(element, "lido:lido")
    if not records:
        raise MappingError(
            f"lido:lidoWrap (line {element.sourceline}) holds no lido:lido record; "
            "send the records inside it, or drop the empty wrapper"
        )
    return records[0]


def _preference_rank(element: etree._Element) -> int:
    pref = element.get(_LIDO_PREF, "")
    return 0 if pref in _PREFERRED else 2 if pref in _ALTERNATE else 1


def _preferred_first(elements: Iterable[etree._Element]) -> list[etree._Element]:
    return sorted(elements, key=_preference_rank)


def _lido_titles(lido: etree._Element) -> list[tuple[str | None, str]]:
    path = (
        "lido:descriptiveMetadata/lido:objectIdentificationWrap/lido:titleWrap/"
        "lido:titleSet/lido:appellationValue"
    )
    return [(_language_of(e), _text(e)) for e in _preferred_first(_xp(lido, path)) if _text(e)]


def _event_type_ids(event: etree._Element) -> list[str]:
    return _texts(
        _xp(event, "lido:eventType/lido:conceptID | lido:eventType/skos:Concept/@rdf:about")
    )


def _is_creation_event(event: etree._Element) -> bool:
    if any(uri in _CREATION_EVENT_TYPES for uri in _event_type_ids(event)):
        return True
    terms = [t.lower() for t in _texts(_xp(event, "lido:eventType/lido:term"))]
    return any(term.startswith(_CREATION_TERM_STEMS) for term in terms)


def _actor_names(event: etree._Element) -> list[str]:
    """One name per actor (its preferred appellation), else the display form."""
    names = []
    for actor_in_role in _xp(event, "lido:eventActor"):
        appellations = _xp(actor_in_role, "lido:actorInRole/lido:actor/lido:nameActorSet/*")
        appellations = [e for e in appellations if _local_name(e) == "appellationValue"]
        name = _first(_preferred_first(appellations)) or _first(
            _xp(actor_in_role, "lido:displayActorInRole")
        )
        if name:
            names.append(name)
    return names


def _event_dates(event: etree._Element) -> list[str]:
    """``displayDate`` as written; without one, the machine date (``earliest/latest`` when
    they differ, as in ISO 8601 intervals)."""
    shown = _texts(_xp(event, "lido:eventDate/lido:displayDate"))
    if shown:
        return shown
    earliest = _first(_xp(event, "lido:eventDate/lido:date/lido:earliestDate"))
    latest = _first(_xp(event, "lido:eventDate/lido:date/lido:latestDate"))
    if earliest and latest and earliest != latest:
        return [f"{earliest}/{latest}"]
    return [value for value in (earliest or latest,) if value]


# Licence names providers write in a rightsType term instead of the URI; only a name with
# its version is a statement ("CC BY-SA" alone could be any of five versions).
_CC_LICENCE_NAME = re.compile(
    r"^(?:cc|creative commons)[ -]+(?P<code>by(?:[ -](?:nc|sa|nd))*)[ -]+v?(?P<version>\d\.\d)\b"
)
_CC_ZERO_NAME = re.compile(r"^(?:cc0|cc zero|creative commons zero)[ -]+v?1\.0\b")
_PUBLIC_DOMAIN_MARK_NAME = re.compile(r"^(?:public domain mark|pdm)[ -]+v?1\.0\b")
_WEB_URI = re.compile(r"^https?://\S+$", re.IGNORECASE)


def rights_uri_from_licence_name(name: str) -> str | None:
    """The URI of a licence written by name (``CC BY-SA 4.0``, ``CC0 1.0 Universell``,
    ``Public Domain Mark 1.0``); None for anything else."""
    text = " ".join(name.lower().split())
    if _CC_ZERO_NAME.match(text):
        return "http://creativecommons.org/publicdomain/zero/1.0/"
    if _PUBLIC_DOMAIN_MARK_NAME.match(text):
        return "http://creativecommons.org/publicdomain/mark/1.0/"
    licence = _CC_LICENCE_NAME.match(text)
    if not licence:
        return None
    code = licence.group("code").replace(" ", "-")
    return canonical_rights_uri(
        f"http://creativecommons.org/licenses/{code}/{licence.group('version')}/"
    )


def _rights_type_uris(rights_type: etree._Element) -> list[str]:
    """The URIs one ``rightsType`` gives: every ``conceptID`` whatever its ``lido:type``, a
    term (or any value) that is a URI, ``skos:Concept/@rdf:about`` and link attributes
    (``rdf:resource``, ``xlink:href``); without any, a licence named in a term."""
    uris: list[str] = []
    for element in rights_type.iter(etree.Element):
        value = _text(element) if _is_leaf(element) else ""
        if value and (_local_name(element) == "conceptID" or _WEB_URI.match(value)):
            uris.append(value)
        uris += _texts(element.get(name, "") for name in _LINK_ATTRIBUTES)
    if uris:
        return uris
    terms = _texts(_xp(rights_type, "lido:term | skos:Concept/skos:prefLabel"))
    return [uri for uri in map(rights_uri_from_licence_name, terms) if uri]


def _known_statements_first(uris: Iterable[str]) -> list[str]:
    """Statements the cleanse stage knows (rightsstatements.org, Creative Commons, the
    retired Europeana URIs) before other URIs, each group in source order."""
    return sorted(uris, key=lambda uri: canonical_rights_uri(uri) is None)


def _rights_uris(rights_types: Iterable[etree._Element]) -> list[str]:
    """Rights statement URIs of ``rightsType`` elements; a term that names a kind of right
    (``Verwertungsrecht``) is no statement and is left out."""
    return [uri for rights_type in rights_types for uri in _rights_type_uris(rights_type)]


# The Europeana type of a LIDO object derived from what the object is, for records without
# a ``europeana:type`` classification: normalised terms (lower case, a trailing "(...)"
# qualifier and hyphens dropped) in English, German, French, Italian, Spanish and Dutch,
# and Getty AAT concept URIs. A one-word term of five letters or more also matches as the
# end of a compound ("Ölgemälde", "Federzeichnung"). Physical objects (sculpture,
# furniture, coins) have no entry: their type depends on the digital object, not on them.
# Documented in docs/source_mappings.md.
EUROPEANA_TYPE_BY_CLASSIFICATION: dict[str, str] = {
    **dict.fromkeys(
        (
            "painting", "paintings", "drawing", "drawings", "print", "prints", "photograph",
            "photographs", "photography", "photo", "poster", "posters", "map", "maps",
            "watercolour", "watercolor", "engraving", "etching", "lithograph", "woodcut",
            "postcard", "picture", "image", "still image", "negative", "gemälde", "malerei",
            "bild", "zeichnung", "druckgrafik", "druckgraphik", "grafik", "graphik",
            "fotografie", "photographie", "foto", "lichtbild", "plakat", "landkarte",
            "postkarte", "ansichtskarte", "seekarte", "aquarell", "holzschnitt", "kupferstich",
            "stahlstich", "radierung", "lithografie", "lithographie", "diapositiv", "negativ",
            "peinture", "tableau", "dessin", "estampe", "gravure", "affiche", "dipinto",
            "pittura", "disegno", "stampa", "incisione", "fotografia", "pintura", "cuadro",
            "dibujo", "grabado", "fotografía", "cartel", "mapa", "schilderij", "tekening",
            "prent", "kaart", "landkaart",
            "http://vocab.getty.edu/aat/300033618",  # paintings (visual works)
            "http://vocab.getty.edu/aat/300033973",  # drawings (visual works)
            "http://vocab.getty.edu/aat/300041273",  # prints (visual works)
            "http://vocab.getty.edu/aat/300041405",  # woodcuts (prints)
            "http://vocab.getty.edu/aat/300041365",  # etchings (prints)
            "http://vocab.getty.edu/aat/300041379",  # lithographs
            "http://vocab.getty.edu/aat/300026816",  # postcards
            "http://vocab.getty.edu/aat/300128371",  # slides (photographs)
            "http://vocab.getty.edu/aat/300046300",  # photographs
            "http://vocab.getty.edu/aat/300027221",  # posters
            "http://vocab.getty.edu/aat/300028094",  # maps (documents)
        ),
        "IMAGE",
    ),
    **dict.fromkeys(
        (
            "book", "books", "manuscript", "manuscripts", "letter", "letters", "document",
            "documents", "periodical", "periodicals", "newspaper", "journal", "magazine",
            "pamphlet", "text", "diary", "correspondence", "charter", "buch", "handschrift",
            "manuskript", "typoskript", "brief", "dokument", "urkunde", "akte", "zeitschrift",
            "zeitung", "periodikum", "schriftstück", "tagebuch", "stammbuch", "flugschrift",
            "livre", "manuscrit", "lettre", "périodique", "revue", "libro", "manoscritto",
            "lettera", "documento", "periodico", "giornale", "manuscrito", "periódico",
            "revista", "boek", "tijdschrift", "krant",
            "http://vocab.getty.edu/aat/300028051",  # books
            "http://vocab.getty.edu/aat/300028569",  # manuscripts (documents)
            "http://vocab.getty.edu/aat/300026879",  # letters (correspondence)
            "http://vocab.getty.edu/aat/300026030",  # documents
            "http://vocab.getty.edu/aat/300026657",  # periodicals
            "http://vocab.getty.edu/aat/300026656",  # newspapers
            "http://vocab.getty.edu/aat/300215389",  # magazines (periodicals)
            "http://vocab.getty.edu/aat/300220572",  # pamphlets
            "http://vocab.getty.edu/aat/300026877",  # correspondence
            "http://vocab.getty.edu/aat/300028577",  # typescripts
        ),
        "TEXT",
    ),
    **dict.fromkeys(
        (
            "sound recording", "sound recordings", "audio recording", "sound", "audio",
            "tonaufnahme", "tonträger", "audioaufnahme", "schallplatte", "tonaufzeichnung",
            "tonbandaufnahme", "tonbandaufzeichnung", "enregistrement sonore",
            "registrazione sonora", "grabación sonora", "geluidsopname",
            "http://vocab.getty.edu/aat/300028633",  # sound recordings
        ),
        "SOUND",
    ),
    **dict.fromkeys(
        (
            "film", "films", "motion picture", "motion pictures", "moving image", "video",
            "video recording", "video recordings", "videoaufnahme", "filmaufnahme", "bewegtbild",
            "videoaufzeichnung", "filmaufzeichnung",
            "vidéo", "filmato", "película",
            "http://vocab.getty.edu/aat/300136900",  # motion pictures (visual works)
            "http://vocab.getty.edu/aat/300028682",  # video recordings
        ),
        "VIDEO",
    ),
    **dict.fromkeys(
        ("3d model", "3d models", "3d modell", "3d modelle", "modèle 3d", "modello 3d",
         "modelo 3d"),
        "3D",
    ),
}  # fmt: skip
# Longest first, so "Videoaufzeichnung" ends in "videoaufzeichnung", not in "zeichnung".
_COMPOUND_ENDINGS = tuple(
    sorted(
        (key for key in EUROPEANA_TYPE_BY_CLASSIFICATION if len(key) >= 5 and key.isalpha()),
        key=len,
        reverse=True,
    )
)


def _without_qualifier(term: str) -> str:
    """``term`` without the qualifier in parentheses that ends it: from the first ``(`` after
    the last but one ``)`` (``Druckgrafik (Visuelles Werk)`` -> ``Druckgrafik``)."""
    # Found by scanning, not by a regular expression: an unanchored ``\s*\(`` is retried
    # from every blank and every "(" of the term, which is quadratic in a long term.
    text = term.rstrip()
    if not text.endswith(")"):
        return term
    opening = text.find("(", text.rfind(")", 0, -1) + 1, -1)
    return term if opening < 0 else text[:opening]


def _classification_key(term: str) -> str:
    """``Druckgrafik (Visuelles Werk)`` -> ``druckgrafik``; ``3D-Modell`` -> ``3d modell``."""
    return " ".join(_without_qualifier(term).lower().replace("-", " ").replace("_", " ").split())


def _getty_concept_uri(uri: str) -> str | None:
    """``https://vocab.getty.edu/page/aat/300033618.json`` -> ``http://vocab.getty.edu/aat/300033618``."""
    getty = _GETTY_URI.match(uri.strip())
    entity = _GETTY_ENTITY.fullmatch(getty.group(2)) if getty else None
    if not getty or not entity:
        return None
    return f"http://vocab.getty.edu/{getty.group(1).lower()}/{entity.group(1)}"


def europeana_type_of_term(term: str) -> str | None:
    """The Europeana type :data:`EUROPEANA_TYPE_BY_CLASSIFICATION` gives an object type
    term or concept URI, by the whole term, else by its last word (``panel painting``) or
    that word's end (``farbige Federzeichnung``); None when the table does not know it."""
    getty = _getty_concept_uri(term)
    if getty:
        return EUROPEANA_TYPE_BY_CLASSIFICATION.get(getty)
    key = _classification_key(term)
    if not key:
        return None
    word = key.rsplit(" ", 1)[-1]
    found = EUROPEANA_TYPE_BY_CLASSIFICATION.get(key) or EUROPEANA_TYPE_BY_CLASSIFICATION.get(word)
    ending = None if found else next((e for e in _COMPOUND_ENDINGS if word.endswith(e)), None)
    return EUROPEANA_TYPE_BY_CLASSIFICATION[ending] if ending else found


# The Europeana type of the digital resource itself, for objects whose kind says nothing of
# it (a coffee pot, a coin, a tool: photographed, they are IMAGE in EDM, whose edm:type is
# the type of the digital object): ``resourceSet/resourceType`` terms (qualifier dropped, as
# above) and the file name extension of the resource's link. Documented in
# docs/source_mappings.md.
EUROPEANA_TYPE_BY_RESOURCE_TYPE: dict[str, str] = {
    **dict.fromkeys(
        ("image", "images", "digital image", "still image", "stillimage", "digitales bild",
         "digitalbild", "bild", "digitalisat", "foto", "photo", "image numérique",
         "immagine digitale", "imagen digital", "digitale afbeelding", "afbeelding",
         "http://vocab.getty.edu/aat/300215302"),
        "IMAGE",
    ),
    **dict.fromkeys(
        ("text", "full text", "volltext", "digital text", "document", "pdf", "texte"),
        "TEXT",
    ),
    **dict.fromkeys(("audio", "sound", "sound recording", "tondokument", "ton"), "SOUND"),
    **dict.fromkeys(("video", "moving image", "film", "bewegtbild"), "VIDEO"),
    **dict.fromkeys(("3d", "3d model", "3d modell", "3d object", "3d objekt"), "3D"),
}  # fmt: skip
EUROPEANA_TYPE_BY_FILE_EXTENSION: dict[str, str] = {
    **dict.fromkeys(
        ("jpg", "jpeg", "jpe", "tif", "tiff", "png", "gif", "jp2", "jpx", "webp", "bmp"), "IMAGE"
    ),
    **dict.fromkeys(("pdf", "txt", "epub"), "TEXT"),
    **dict.fromkeys(("mp3", "wav", "ogg", "oga", "flac", "m4a", "aac"), "SOUND"),
    **dict.fromkeys(("mp4", "m4v", "mov", "webm", "ogv", "avi", "mpg", "mpeg"), "VIDEO"),
    **dict.fromkeys(("glb", "gltf", "obj", "ply", "stl", "x3d"), "3D"),
}  # fmt: skip


def _resource_type_of_term(term: str) -> str | None:
    getty = _getty_concept_uri(term)
    key = getty or _classification_key(term)
    return EUROPEANA_TYPE_BY_RESOURCE_TYPE.get(key) if key else None


def _resource_type_of_link(link: str) -> str | None:
    path = link.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return EUROPEANA_TYPE_BY_FILE_EXTENSION.get(extension)


def _lido_resource_type(lido: etree._Element) -> str | None:
    """The type of the record's digital resource: its first ``resourceType`` the table
    knows, else the file name extension of its first link."""
    resource_sets = "lido:administrativeMetadata/lido:resourceWrap/lido:resourceSet"
    for resource_type in _xp(lido, f"{resource_sets}/lido:resourceType"):
        values = _texts(_xp(resource_type, "lido:conceptID | lido:term"))
        found = next(filter(None, map(_resource_type_of_term, values)), None)
        if found:
            return found
    return next(filter(None, map(_resource_type_of_link, _lido_image_links(lido))), None)


def _lido_type(lido: etree._Element) -> str | None:
    """``europeana:type`` as written; else the type derived from the object work types, then
    the other classifications (concept URIs before terms, in document order); else the type
    of the digital resource (:data:`EUROPEANA_TYPE_BY_RESOURCE_TYPE`)."""
    classification = "lido:descriptiveMetadata/lido:objectClassificationWrap"
    explicit = _first(
        _xp(
            lido,
            f"{classification}/lido:classificationWrap/"
            "lido:classification[@lido:type='europeana:type']/lido:term",
        )
    )
    if explicit:
        return explicit
    concepts = _xp(
        lido,
        f"{classification}/lido:objectWorkTypeWrap/lido:objectWorkType | "
        f"{classification}/lido:classificationWrap/lido:classification",
    )
    for concept in concepts:
        ids = _texts(_xp(concept, "lido:conceptID | skos:Concept/@rdf:about"))
        terms = _texts(_xp(concept, "lido:term | skos:Concept/skos:prefLabel"))
        found = next(filter(None, map(europeana_type_of_term, ids + terms)), None)
        if found:
            return found
    return _lido_resource_type(lido)


def _lido_image_links(lido: etree._Element) -> list[str]:
    representations = _xp(
        lido,
        "lido:administrativeMetadata/lido:resourceWrap/lido:resourceSet/"
        "lido:resourceRepresentation",
    )

    def rank(representation: etree._Element) -> int:
        kind = representation.get(_LIDO_TYPE, "")
        return 0 if kind in _FULL_IMAGE_TYPES else 2 if kind in _PREVIEW_TYPES else 1

    links: list[tuple[int, bool, str]] = []
    for representation in representations:
        for link in _texts(_xp(representation, "lido:linkResource")):
            links.append((rank(representation), not link.startswith(("http://", "https://")), link))
    return [link for _, _, link in sorted(links, key=lambda item: item[:2])]


def _legal_body_names(bodies: Iterable[etree._Element]) -> list[str]:
    """One name per legal body: its preferred appellation, or its first."""
    names = []
    for body in bodies:
        name = _first(_preferred_first(_xp(body, "lido:legalBodyName/lido:appellationValue")))
        if name:
            names.append(name)
    return names


def _is_former_repository(repository_set: etree._Element) -> bool:
    """A repository that no longer holds the object (lido00476 former, lido01019 as in the
    LIDO 1.1 example's earlier location)."""
    kind = repository_set.get(_LIDO_TYPE, "").lower()
    return kind == "former" or kind.endswith(("lido00476", "lido01019"))


def _lido_last_change(lido: etree._Element) -> str | None:
    dates = _xp(lido, "lido:administrativeMetadata/lido:recordWrap/lido:recordInfoSet/*")
    dates = [e for e in dates if _local_name(e) == "recordMetadataDate" and _text(e)]
    modified = [e for e in dates if "modif" in e.get(_LIDO_TYPE, "").lower()]
    chosen = (modified or dates)[-1:] if dates else []
    return _text(chosen[0]) if chosen else None


# --- LIDO embargo and creator death year -----------------------------------------------

# A rightsWorkSet states an embargo when one of its rightsType terms (lido:term, a
# skos:prefLabel) names one (whole words, any case: "Embargo", "embargo until", "embargoed",
# "Sperrfrist", "Schutzfrist", "restricted", "Restricted access", "access restriction",
# "Zugangsbeschränkung"; "unrestricted" does not match), or one of its concept ids
# (lido:conceptID, skos:Concept/@rdf:about) contains "embargo".
_EMBARGO_TERM = re.compile(
    r"\b(?:embargo|sperrfrist|schutzfrist|restricted|access restriction|zugangsbeschr[äa]nkung)",
    re.IGNORECASE,
)
# vitalDatesActor types that are not a death date (LIDO 1.1 may give one per kind).
_BIRTH_DATE_TYPE = re.compile(r"birth|geburt", re.IGNORECASE)


def _states_embargo(rights_type: etree._Element) -> bool:
    terms = _texts(_xp(rights_type, "lido:term | skos:Concept/skos:prefLabel"))
    ids = _texts(_xp(rights_type, "lido:conceptID | skos:Concept/@rdf:about"))
    return any(_EMBARGO_TERM.search(term) for term in terms) or any(
        "embargo" in concept.lower() for concept in ids
    )


def _lido_embargo(
    lido: etree._Element, policy: PublicationPolicy, data_provider: str | None
) -> dict[str, str]:
    """The embargo fields of the rightsWorkSets whose rightsType states an embargo: the end
    is ``rightsDate/latestDate``, else ``rightsDate/earliestDate``, read in the data
    provider's zone (LIDO declares none); with several, the one that ends last. An embargo
    with no end date holds indefinitely (:data:`INDEFINITE_EMBARGO_UNTIL`)."""
    record_id = _first(_xp(lido, "lido:lidoRecID")) or "(no lidoRecID)"
    ends: list[EmbargoEnd | None] = []
    sets = "lido:administrativeMetadata/lido:rightsWorkWrap/lido:rightsWorkSet"
    for rights_set in _xp(lido, sets):
        if not any(_states_embargo(t) for t in _xp(rights_set, "lido:rightsType")):
            continue
        latest = _first(_xp(rights_set, "lido:rightsDate/lido:latestDate"))
        earliest = _first(_xp(rights_set, "lido:rightsDate/lido:earliestDate"))
        element = "latestDate" if latest else "earliestDate"
        where = f"LIDO record {record_id!r} {_where(rights_set)} rightsDate/{element}"
        text = latest or earliest or INDEFINITE_EMBARGO_UNTIL
        try:
            ends.append(source_embargo_end(text, policy, data_provider, None, where))
        except EmbargoDateError as error:
            raise MappingError(str(error)) from error
    return latest_end_fields(ends)


def _actor_death_year(actor: etree._Element) -> int | None:
    """The latest death year one actor's vitalDatesActor give (birth dates left out)."""
    years = []
    for vital in _xp(actor, "lido:vitalDatesActor"):
        if _BIRTH_DATE_TYPE.search(vital.get(_LIDO_TYPE, "")):
            continue
        years.append(death_year(_first(_xp(vital, "lido:latestDate"))))
    return latest_year(years)


def _lido_creator_death_year(creation_events: Iterable[etree._Element]) -> int | None:
    """The death year of the creator who died last, among the actors of the creation
    events whose ``vitalDatesActor/latestDate`` is a year or an ISO 8601 date; None when
    any creator's death year is not known (a living co-creator keeps the work in
    copyright, so the statutory term cannot be counted)."""
    actors = [
        actor
        for event in creation_events
        for actor in _xp(event, "lido:eventActor/lido:actorInRole/lido:actor")
    ]
    years = [_actor_death_year(actor) for actor in actors]
    if not years or any(year is None for year in years):
        return None
    return latest_year(years)


def map_lido_record(
    lido: etree._Element, policy: PublicationPolicy | None = None
) -> dict[str, Any]:
    """``lido:lido`` (or the first record of a ``lido:lidoWrap``) -> common record.

    Creators and dates come from the production, creation and designing events; the type
    is ``europeana:type``, else derived from the object work types and classifications;
    rights are the statement URIs of the digital resources, then of the work (the record's
    own metadata licence is not the object's), known statements first; the data provider
    is the current repository, else the record source Europeana's profile marks as data
    provider; record sources other than the data provider (aggregators such as
    museum-digital) become ``provider``. The embargo and the creator's death year are read
    as :func:`_lido_embargo` and :func:`_lido_creator_death_year` say; ``policy`` gives the
    zone an embargo date is read in (None: the built-in policy, UTC). An embargo end that
    is no date raises MappingError with the reason.
    """
    lido = _lido_element(lido)
    descriptive = _xp(lido, "lido:descriptiveMetadata")
    events = _xp(lido, "lido:descriptiveMetadata/lido:eventWrap/lido:eventSet/lido:event")
    creation_events = [event for event in events if _is_creation_event(event)]
    titles = _lido_titles(lido)
    administrative = "lido:administrativeMetadata"
    rights = _rights_uris(
        _xp(
            lido,
            f"{administrative}/lido:resourceWrap/lido:resourceSet/lido:rightsResource/"
            "lido:rightsType",
        )
    ) + _rights_uris(
        _xp(lido, f"{administrative}/lido:rightsWorkWrap/lido:rightsWorkSet/lido:rightsType")
    )
    repositories = [
        repository
        for repository in _xp(
            lido,
            "lido:descriptiveMetadata/lido:objectIdentificationWrap/lido:repositoryWrap/"
            "lido:repositorySet",
        )
        if not _is_former_repository(repository)
    ]
    sources = _xp(lido, f"{administrative}/lido:recordWrap/lido:recordSource")
    marked = [s for s in sources if s.get(_LIDO_TYPE, "") == "europeana:dataProvider"]
    holders = [
        name for r in repositories for name in _legal_body_names(_xp(r, "lido:repositoryName"))
    ]
    data_providers = _unique(holders or _legal_body_names(marked or sources))
    known_providers = set(data_providers)
    record = _common_record(
        id=_first(_xp(lido, "lido:lidoRecID")),
        type=_lido_type(lido),
        title=[title for _, title in titles],
        dcTitleLangAware=_titles_by_language(titles),
        dcCreator=[name for event in creation_events for name in _actor_names(event)],
        dcDescription=_texts(
            _xp(
                lido,
                "lido:descriptiveMetadata/lido:objectIdentificationWrap/"
                "lido:objectDescriptionWrap/lido:objectDescriptionSet/lido:descriptiveNoteValue",
            )
        ),
        dcDate=[date for event in creation_events for date in _event_dates(event)],
        rights=_known_statements_first(rights),
        edmIsShownBy=_lido_image_links(lido),
        dataProvider=data_providers,
        provider=[n for n in _legal_body_names(sources) if n not in known_providers],
        language=[iso639_language(v) for v in _texts(e.get(XML_LANG, "") for e in descriptive)],
        timestamp_update=_lido_last_change(lido),
    )
    provider = data_providers[0] if data_providers else None
    record.update(_lido_embargo(lido, policy or PublicationPolicy(), provider))
    died = _lido_creator_death_year(creation_events)
    if died is not None:
        record[CREATOR_DEATH_YEAR] = died
    return record


# --- EDM ------------------------------------------------------------------------------


def _edm_entities(rdf: etree._Element) -> dict[str, etree._Element]:
    """The RDF's top-level resources by ``rdf:about`` (the first of each): one index, so a
    reference is resolved without scanning the RDF again."""
    entities: dict[str, etree._Element] = {}
    for entity in rdf.iterchildren(etree.Element):
        about = entity.get(_RDF_ABOUT)
        if about is not None:
            entities.setdefault(about.strip(), entity)
    return entities


def _edm_labels(
    elements: Iterable[etree._Element], path: str, entities: dict[str, etree._Element]
) -> list[str]:
    """Literal values of ``path`` in each element; a reference (``rdf:resource``) becomes
    the preferred label of the contextual entity it names in the same RDF, else stays the
    URI as written."""
    values = []
    for element in elements:
        for node in _xp(element, path):
            reference = node.get(_RDF_RESOURCE)
            if reference is None:
                values.append(_text(node))
                continue
            entity = entities.get(reference.strip())
            label = _first(_xp(entity, "skos:prefLabel")) if entity is not None else None
            values.append(label or reference.strip())
    return [value for value in values if value]


def _edm_resources(element: etree._Element, path: str) -> list[str]:
    return _texts(_xp(element, f"{path}/@rdf:resource"))


def _is_europeana_proxy(proxy: etree._Element) -> bool:
    return (_first(_xp(proxy, "edm:europeanaProxy")) or "").lower() in ("true", "1")


def _edm_descriptions(rdf: etree._Element, cho: etree._Element) -> list[etree._Element]:
    """Where a CHO's description sits: the CHO itself (provider EDM), then the provider's
    ``ore:Proxy`` of it, then Europeana's proxy (enrichments), as Europeana publishes EDM."""
    about = (cho.get(_RDF_ABOUT) or "").strip()
    proxies = [
        proxy
        for proxy in _xp(rdf, "ore:Proxy")
        if (_first(_xp(proxy, "ore:proxyFor/@rdf:resource")) or about) == about
    ]
    europeana = [proxy for proxy in proxies if _is_europeana_proxy(proxy)]
    provider = [proxy for proxy in proxies if not _is_europeana_proxy(proxy)]
    return [cho, *provider, *europeana]


def _edm_rights(
    aggregation: etree._Element | None, descriptions: list[etree._Element]
) -> list[str]:
    """``edm:rights`` of the aggregation, then ``dc:rights`` that are statement URIs."""
    granted = _edm_resources(aggregation, "edm:rights") if aggregation is not None else []
    written = [
        value
        for element in descriptions
        for value in _edm_resources(element, "dc:rights") + _texts(_xp(element, "dc:rights"))
        if _WEB_URI.match(value)
    ]
    return granted + _known_statements_first(written)


def map_edm_record(rdf: etree._Element) -> dict[str, Any]:
    """``rdf:RDF`` of an EDM record -> common record: the ProvidedCHO the aggregation points
    at, described by itself or by its proxies (the provider's first, then Europeana's), the
    provider's ``ore:Aggregation`` and, when present, the Europeana aggregation (country,
    language)."""
    _expect(rdf, NS["rdf"], ("RDF",), "edm")
    aggregation = next(iter(_xp(rdf, "ore:Aggregation")), None)
    chos = _xp(rdf, "edm:ProvidedCHO")
    if aggregation is not None:
        target = _first(_xp(aggregation, "edm:aggregatedCHO/@rdf:resource"))
        chos = [c for c in chos if (c.get(_RDF_ABOUT) or "").strip() == target] or chos
    if not chos:
        raise MappingError(
            "EDM record has no edm:ProvidedCHO; an EDM record describes one ProvidedCHO "
            "and the ore:Aggregation of it, so send both"
        )
    cho = chos[0]
    entities = _edm_entities(rdf)
    described = _edm_descriptions(rdf, cho)
    europeana = next(iter(_xp(rdf, "edm:EuropeanaAggregation")), None)
    titles = [
        (_language_of(e), _text(e)) for d in described for e in _xp(d, "dc:title") if _text(e)
    ]
    record = _common_record(
        id=(cho.get(_RDF_ABOUT) or "").strip(),
        type=_first(e for d in described for e in _xp(d, "edm:type")),
        title=[title for _, title in titles],
        dcTitleLangAware=_titles_by_language(titles),
        dcCreator=_edm_labels(described, "dc:creator", entities),
        dcDescription=[text for d in described for text in _texts(_xp(d, "dc:description"))],
        dcDate=_edm_labels(described, "dc:date | dcterms:created", entities),
        rights=_edm_rights(aggregation, described),
    )
    languages = _texts(_xp(europeana, "edm:language")) if europeana is not None else []
    languages = languages or [v for d in described for v in _texts(_xp(d, "dc:language"))]
    if aggregation is not None:
        record |= _common_record(
            edmIsShownBy=_edm_resources(aggregation, "edm:isShownBy"),
            dataProvider=_edm_labels([aggregation], "edm:dataProvider", entities),
            provider=_edm_labels([aggregation], "edm:provider", entities),
        )
    # Europeana stamps its own aggregation with the last change; a provider's EDM may
    # stamp the ore:Aggregation.
    stamped = [e for e in (europeana, aggregation) if e is not None]
    return record | _common_record(
        country=_texts(_xp(europeana, "edm:country")) if europeana is not None else [],
        language=[iso639_language(v) for v in languages],
        timestamp_update=_first(m for e in stamped for m in _xp(e, "dcterms:modified")),
    )


# --- ISO 19139 ------------------------------------------------------------------------

# Responsible-party roles that mean "made the resource" (CI_RoleCode).
_ISO_CREATOR_ROLES = ("originator", "author", "principalInvestigator")


# ISO 19139 (ISO 19115) and ISO 19115-2 roots; 19115-2 keeps the 19115 children in gmd.
_ISO_METADATA_TAGS = (f"{{{NS['gmd']}}}MD_Metadata", f"{{{NS['gmi']}}}MI_Metadata")


def _iso_metadata_element(element: etree._Element) -> etree._Element:
    """``gmd:MD_Metadata`` or ``gmi:MI_Metadata`` itself, or the first one inside a wrapper
    (a CSW response)."""
    if isinstance(element.tag, str) and element.tag in _ISO_METADATA_TAGS:
        return element
    found = next(element.iter(*_ISO_METADATA_TAGS), None)
    if found is None:
        raise MappingError(
            "metadataPrefix 'iso19139' expects a gmd:MD_Metadata or gmi:MI_Metadata element, "
            f"got {element.tag} with none inside; check that the records were harvested as "
            "ISO 19139 or ISO 19115-2"
        )
    return found


def _iso_code(element: etree._Element) -> str:
    """A code list value (``codeListValue``), else the element's text."""
    return (element.get("codeListValue") or _text(element)).strip()


def _iso_strings(
    properties: Iterable[etree._Element], language: str | None, locales: dict[str, str]
) -> list[tuple[str | None, str]]:
    """(language, text) of free-text properties: the main string in the metadata language,
    then each ``PT_FreeText`` translation in its locale's language."""
    strings: list[tuple[str | None, str]] = []
    for prop in properties:
        main = _first(_xp(prop, "gco:CharacterString | gmx:Anchor"))
        if main:
            strings.append((language, main))
        for localised in _xp(prop, "gmd:PT_FreeText/gmd:textGroup/gmd:LocalisedCharacterString"):
            locale = (localised.get("locale") or "").strip()
            if _text(localised):
                strings.append((locales.get(locale, locale.lstrip("#")) or None, _text(localised)))
    return strings


def _iso_language(properties: Iterable[etree._Element]) -> list[str]:
    values = []
    for prop in properties:
        codes = [_iso_code(e) for e in _xp(prop, "gmd:LanguageCode")]
        values += [c for c in codes if c] or _texts(_xp(prop, "gco:CharacterString"))
    return [iso639_language(v) for v in values]


def _iso_anchor_or_text(properties: Iterable[etree._Element]) -> list[str]:
    """Constraint values: an Anchor's link (a licence URI), else the text as written; URIs
    first, since the common model's ``rights`` holds statement URIs."""
    values = []
    for prop in properties:
        values += _texts(_xp(prop, "gmx:Anchor/@xlink:href")) or _texts(
            _xp(prop, "gco:CharacterString | gmx:Anchor")
        )
    return sorted(values, key=lambda v: not re.match(r"^https?://", v))


def _first_per(elements: Iterable[etree._Element], path: str) -> list[str]:
    """The first value of ``path`` in each element that has one."""
    return [value for element in elements for value in _texts(_xp(element, path))[:1]]


def map_iso19139_record(metadata: etree._Element) -> dict[str, Any]:
    """``gmd:MD_Metadata`` or ISO 19115-2 ``gmi:MI_Metadata`` (a dataset or service
    record), bare or in a CSW response -> common record. ``type`` is the
    ISO scope code as written (``dataset``, ``service``): there is no Europeana type for it,
    and the cleanse stage decides what it accepts."""
    md = _iso_metadata_element(metadata)
    identification = next(iter(_xp(md, "gmd:identificationInfo/*")), None)
    if identification is None:
        raise MappingError(
            f"ISO 19139 record {_first(_xp(md, 'gmd:fileIdentifier')) or '(no fileIdentifier)'} "
            "has no gmd:identificationInfo; it describes no resource to map"
        )
    metadata_languages = _iso_language(_xp(md, "gmd:language"))
    language = metadata_languages[0] if metadata_languages else None
    locales = {
        f"#{locale.get('id')}": lang
        for locale in _xp(md, "gmd:locale/gmd:PT_Locale")
        for lang in _iso_language(_xp(locale, "gmd:languageCode"))[:1]
    }
    citation = "gmd:citation/gmd:CI_Citation"
    titles = _iso_strings(_xp(identification, f"{citation}/gmd:title"), language, locales)
    creators = []
    for party in _xp(identification, f"{citation}/gmd:citedResponsibleParty/*"):
        roles = [_iso_code(e) for e in _xp(party, "gmd:role/gmd:CI_RoleCode")]
        if any(role in _ISO_CREATOR_ROLES for role in roles):
            name = _first(_xp(party, "gmd:individualName | gmd:organisationName"))
            creators += [name] if name else []
    contacts = _xp(identification, "gmd:pointOfContact/*") or _xp(md, "gmd:contact/*")
    constraints = "gmd:resourceConstraints/*"
    return _common_record(
        id=_first(_xp(md, "gmd:fileIdentifier")),
        type=next((c for c in (_iso_code(e) for e in _xp(md, "gmd:hierarchyLevel/*")) if c), None),
        title=[title for _, title in titles],
        dcTitleLangAware=_titles_by_language(titles),
        dcCreator=creators,
        dcDescription=[
            text for _, text in _iso_strings(_xp(identification, "gmd:abstract"), language, locales)
        ],
        dcDate=_texts(_xp(identification, f"{citation}/gmd:date/gmd:CI_Date/gmd:date/*")),
        rights=_iso_anchor_or_text(
            _xp(identification, f"{constraints}/gmd:otherConstraints")
            + _xp(identification, f"{constraints}/gmd:useLimitation")
        ),
        edmIsShownBy=_texts(
            _xp(identification, "gmd:graphicOverview/gmd:MD_BrowseGraphic/gmd:fileName/*")
        ),
        dataProvider=_first_per(contacts, "gmd:organisationName"),
        country=_first_per(
            contacts, "gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:country"
        ),
        language=_iso_language(_xp(identification, "gmd:language")) or metadata_languages,
        timestamp_update=_first(_xp(md, "gmd:dateStamp/*")),
    )


# --- LIDO content rules -----------------------------------------------------------------

# Elements the LIDO schema (1.0 and 1.1) allows once in their parent, that providers repeat.
_LIDO_ONCE_ONLY = {
    "lido": ("category",),
    "descriptiveMetadata": (
        "objectClassificationWrap",
        "objectIdentificationWrap",
        "eventWrap",
        "objectRelationWrap",
    ),
    "administrativeMetadata": ("rightsWorkWrap", "recordWrap", "resourceWrap"),
    "objectClassificationWrap": ("objectWorkTypeWrap", "classificationWrap"),
    "objectIdentificationWrap": (
        "titleWrap",
        "inscriptionsWrap",
        "repositoryWrap",
        "displayStateEditionWrap",
        "objectDescriptionWrap",
        "objectMeasurementsWrap",
    ),
    "recordWrap": ("recordType",),
    "resourceSet": ("resourceType",),
    "resourceRepresentation": ("linkResource",),
    "event": ("eventType", "eventDate"),
}
# Values written where a provider had nothing to say.
_PLACEHOLDER = re.compile(r"^(\?+|n/?a|null|none|nil|tbd|todo|xxx+|\.\.\.)$", re.IGNORECASE)
# Characters that break an identifier once it is part of a URL or a key.
_UNSAFE_ID_CHARACTER = re.compile(r"[^A-Za-z0-9\-._~:/,+@;=!$&'()*]")
# A full URI starts with its scheme; "AAT 300041405" is a shortened one.
_FULL_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S")
_URI_TYPED = ("http://terminology.lido-schema.org/lido00099", "uri", "/uri")
_LIDO_TERMINOLOGY_CODE = re.compile(r"^https?://terminology\.lido-schema\.org/lido(\d+)$")
# Getty vocabulary URIs as Getty publishes them: http or https, the HTML page under /page/,
# the entity URI of a place or agent (-place, -agent) or concept (-concept), and a
# representation (.html, .json, .jsonld, .rdf, .ttl, .nt, .n3, .xml).
_GETTY_URI = re.compile(r"^https?://vocab\.getty\.edu/(?:page/)?(aat|tgn|ulan)/(.*)$", re.I)
_GETTY_ENTITY = re.compile(
    r"(\d+)(?:-place|-agent|-concept)?(?:\.(?:html|json|jsonld|rdf|ttl|nt|n3|xml))?/?(?:[?#].*)?"
)
# Other Getty resources under a vocabulary's path (terms, revisions, sources, contributors,
# scope notes) are not concept ids and are not checked.
_GETTY_OTHER_RESOURCE = re.compile(r"^(?:term|rev|source|contrib|scopeNote)/", re.I)
# The id spaces: AAT 300000000-300999999, TGN 1000000-1999999 (Italy is 1000080) and
# 7000000-7999999 (Siena is 7011179), ULAN 500000000-500999999.
_GETTY_ID_SHAPE = {
    "aat": (r"300\d{6}", "9 digits starting with 300"),
    "tgn": (r"[17]\d{6}", "7 digits starting with 1 or 7"),
    "ulan": (r"500\d{6}", "9 digits starting with 500"),
}
_WEB_LINKS = ("linkResource", "objectWebResource", "recordInfoLink", "legalBodyWeblink")
# Elements that hold one value (as opposed to wrappers of other elements).
_VALUE_SUFFIXES = ("Value", "ID", "Date", "Link", "Resource", "Weblink")
_VALUE_NAMES = ("term", "creditLine", "measurementUnit", "measurementType", "extentMeasurements")


def _where(element: etree._Element) -> str:
    """``name (line N)`` for messages; the line of the source file when parsed from one."""
    name = _local_name(element)
    return f"{name} (line {element.sourceline})" if element.sourceline else name


def _is_leaf(element: etree._Element) -> bool:
    """True for an element with no element children (comments do not count)."""
    return next(element.iterchildren(etree.Element), None) is None


def _lido_elements(lido: etree._Element) -> Iterator[etree._Element]:
    return lido.iter(f"{{{LIDO_NS}}}*")


def _is_value_element(name: str) -> bool:
    return name in _VALUE_NAMES or name.endswith(_VALUE_SUFFIXES) or name.startswith("display")


def _identifier_problems(lido: etree._Element) -> list[str]:
    ids = _xp(lido, "lido:lidoRecID")
    if not _texts(ids):
        return [
            "no lidoRecID: every LIDO record needs a non-blank lidoRecID, the persistent id "
            "the record is published under; add one (e.g. ISIL/local number)"
        ]
    problems = []
    for element in ids:
        unsafe = _unique(_UNSAFE_ID_CHARACTER.findall(_text(element)))
        if unsafe:
            problems.append(
                f"{_where(element)} {_text(element)!r} has characters that are not safe in an "
                f"identifier ({' '.join(repr(c) for c in unsafe)}); use ASCII letters, digits "
                "and - _ . / : , only"
            )
    return problems


def _title_problems(lido: etree._Element) -> list[str]:
    title_sets = _xp(lido, ".//lido:titleWrap/lido:titleSet")
    if not _lido_titles(lido):
        return [
            "no title: titleWrap/titleSet needs at least one non-blank appellationValue; "
            "give the object its title (or its object type when it has none)"
        ]
    return [
        f"{_where(title_set)} has an appellationValue that is empty; fill it or leave the "
        "element out"
        for title_set in title_sets
        if any(not _text(v) for v in _xp(title_set, "lido:appellationValue"))
        or not _xp(title_set, "lido:appellationValue")
    ]


def _language_problems(lido: etree._Element) -> list[str]:
    problems: dict[str, str] = {}
    for element in lido.iter(etree.Element):
        language = element.get(XML_LANG)
        if language is not None and not is_language_code(language):
            problems.setdefault(
                language,
                f"xml:lang {language!r} on {_where(element)} is not an ISO 639 language code; "
                f"write the code (e.g. 'de' for German, 'en' for English)",
            )
    return list(problems.values())


def _value_problems(lido: etree._Element) -> list[str]:
    """Placeholders, blank-only pseudo-values and empty terms, in document order."""
    problems = []
    for element in _lido_elements(lido):
        if not _is_leaf(element):
            continue
        raw = str(_STRING_VALUE(element))
        value = raw.strip()
        name = _local_name(element)
        if value and _PLACEHOLDER.match(value):
            problems.append(
                f"{_where(element)} holds the placeholder {value!r}; leave the element out "
                "when the value is unknown"
            )
        elif raw and not value and _is_value_element(name):
            problems.append(
                f"{_where(element)} holds only whitespace; leave the element out or fill it"
            )
        elif not raw and name == "term":
            problems.append(
                f"{_where(element)} in {_local_name(element.getparent())} is empty: "
                "a concept needs a label; fill the term or leave it out"
            )
    return problems


def _repetition_problems(lido: etree._Element) -> list[str]:
    problems = []
    for element in _lido_elements(lido):  # the record itself included
        once_only = _LIDO_ONCE_ONLY.get(_local_name(element), ())
        if not once_only:
            continue
        counts = Counter(_local_name(c) for c in element.iterchildren(f"{{{LIDO_NS}}}*"))
        problems += [
            f"{name} appears {counts[name]} times in {_where(element)}; the LIDO schema "
            f"allows one {name} there: merge them into one"
            for name in once_only
            if counts[name] > 1
        ]
    return problems


_TERMINOLOGY_ATTRIBUTES = etree.XPath(".//@*[contains(., 'terminology.lido-schema.org/lido')]")


def _terminology_attributes(lido: etree._Element) -> dict[etree._Element, list[tuple[str, str]]]:
    """(value, ``@name``) of the attributes that name a LIDO terminology URI, by element.
    One XPath pass: lxml's ``attrib.items()`` looks each attribute up by name again, which
    is quadratic on an element with thousands of attributes."""
    found: dict[etree._Element, list[tuple[str, str]]] = {}
    for attribute in _TERMINOLOGY_ATTRIBUTES(lido):
        place = f"@{str(attribute.attrname).rpartition('}')[2]}"
        found.setdefault(attribute.getparent(), []).append((str(attribute), place))
    return found


def _vocabulary_problems(lido: etree._Element) -> list[str]:
    """Concept identifiers that are not URIs, invented LIDO terminology codes and Getty
    ids of the wrong shape."""
    problems = []
    terminology_attributes = _terminology_attributes(lido)
    for element in lido.iter(etree.Element):
        value = _text(element) if _is_leaf(element) else ""
        kind = element.get(_LIDO_TYPE, "")
        name = _local_name(element)
        if (
            name == "conceptID"
            and value
            and kind.lower().endswith(_URI_TYPED)
            and not _FULL_URI.match(value)
        ):
            problems.append(
                f"{_where(element)} {value!r} is typed as a URI but is not a full URI; "
                "write the concept's URI with its scheme (e.g. http://vocab.getty.edu/aat/300041405)"
            )
        attributes = terminology_attributes.get(element, [])
        for candidate, place in [(value, "value"), *attributes]:
            if "terminology.lido-schema.org/lido" not in candidate:
                continue
            code = _LIDO_TERMINOLOGY_CODE.match(candidate.strip())
            if code and len(code.group(1)) > 5:
                problems.append(
                    f"{candidate.strip()!r} ({place} of {_where(element)}) is not a LIDO "
                    "terminology URI: the codes are 'lido' and five digits; look the concept "
                    "up at http://terminology.lido-schema.org"
                )
        # A Getty id is checked where it names a concept, not where @source names the
        # vocabulary (http://vocab.getty.edu/tgn/).
        for candidate, place in [(value, "value"), (element.get(_RDF_ABOUT, ""), "@about")]:
            problem = _getty_uri_problem(candidate) if "vocab.getty.edu" in candidate else None
            if problem:
                problems.append(f"{candidate.strip()!r} ({place} of {_where(element)}) {problem}")
    return problems


def _getty_uri_problem(uri: str) -> str | None:
    """Why a Getty AAT, TGN or ULAN URI cannot resolve; None when it can (or is not one)."""
    getty = _GETTY_URI.match(uri.strip())
    if not getty or _GETTY_OTHER_RESOURCE.match(getty.group(2)):
        return None
    vocabulary = getty.group(1).lower()
    entity = _GETTY_ENTITY.fullmatch(getty.group(2))
    shape, described = _GETTY_ID_SHAPE[vocabulary]
    if entity and re.fullmatch(shape, entity.group(1)):
        return None
    return (
        f"is not a Getty {vocabulary.upper()} URI: its ids are {described}; use the "
        "concept's real URI (e.g. http://vocab.getty.edu/aat/300033618)"
    )


def _link_problems(lido: etree._Element) -> list[str]:
    """Web links must be usable as written: ASCII, no spaces, http(s) when they name a
    scheme. A link without a scheme (a file name such as ``_DSC3552.jpg``) is allowed."""
    problems = []
    for name in _WEB_LINKS:
        for element in lido.iter(f"{{{LIDO_NS}}}{name}"):
            link = _text(element)
            scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", link)
            if not link:
                continue
            if re.search(r"\s", link) or not link.isascii():
                problems.append(
                    f"{_where(element)} {link!r} is not a valid web link: it holds spaces or "
                    "non-ASCII characters; percent-encode them"
                )
            elif scheme and scheme.group(1).lower() not in ("http", "https"):
                problems.append(
                    f"{_where(element)} {link!r} uses the scheme {scheme.group(1)!r}; web "
                    "links must be http(s) URLs"
                )
    return problems


def _states_rights(rights: etree._Element) -> bool:
    return bool(_xp(rights, "lido:rightsType | lido:rightsHolder"))


def _rights_problems(lido: etree._Element) -> list[str]:
    problems = []
    record_rights = _xp(lido, ".//lido:recordWrap/lido:recordRights")
    if not any(_states_rights(r) for r in record_rights):
        problems.append(
            "no rights for the metadata: recordWrap/recordRights needs a rightsType (or at "
            "least a rightsHolder); state the licence of the record, e.g. CC0 1.0"
        )
    resource_sets = [s for s in _xp(lido, ".//lido:resourceSet") if _xp(s, ".//lido:linkResource")]
    resource_rights = _xp(lido, ".//lido:resourceSet/lido:rightsResource")
    if resource_sets and not any(_states_rights(r) for r in resource_rights):
        problems.append(
            "no rights for the digital resources: no resourceSet/rightsResource has a "
            "rightsType or rightsHolder (a creditLine alone states no rights); add the "
            "rights statement URI of the images"
        )
    return problems


def _repository_problems(lido: etree._Element) -> list[str]:
    return [
        f"{_where(name)} names no institution: add the legalBodyName or legalBodyID of the "
        "repository that holds the object"
        for name in _xp(lido, ".//lido:repositorySet/lido:repositoryName")
        if not _texts(_xp(name, "lido:legalBodyName/lido:appellationValue | lido:legalBodyID"))
    ]


def lido_record_problems(lido: etree._Element) -> list[str]:
    """Every content problem of one LIDO record (empty when it may be published), each
    naming the element, its line and the fix. ``lido`` is a ``lido:lido`` element, or a
    ``lido:lidoWrap`` whose first record is checked."""
    record = _lido_element(lido)
    return [
        *_identifier_problems(record),
        *_title_problems(record),
        *_language_problems(record),
        *_value_problems(record),
        *_repetition_problems(record),
        *_vocabulary_problems(record),
        *_link_problems(record),
        *_rights_problems(record),
        *_repository_problems(record),
    ]
