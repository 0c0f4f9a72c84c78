"""Deterministic heritage objects and their XML in the four formats the test repository serves.

Pure: ``generated_object(seed, index, version)`` always gives the same object, and the
renderers always give the same XML for it. Each format follows its standard closely enough
that a real consumer can read it: Dublin Core (``oai_dc``), LIDO 1.1 (``lido``), the Europeana
Data Model (``edm``, an ``rdf:RDF`` with ``edm:ProvidedCHO`` and ``ore:Aggregation``) and
ISO 19139 (``iso19139``, ``gmd:MD_Metadata``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# prefix -> (schema URL, metadata namespace), as ListMetadataFormats announces them.
METADATA_FORMATS: dict[str, tuple[str, str]] = {
    "oai_dc": (
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
    ),
    "lido": ("http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd", "http://www.lido-schema.org"),
    "edm": ("http://www.europeana.eu/schemas/edm/EDM.xsd", "http://www.europeana.eu/schemas/edm/"),
    "iso19139": ("http://www.isotc211.org/2005/gmd/gmd.xsd", "http://www.isotc211.org/2005/gmd"),
}

# (institution, country, ISO 639-1 language, collection set)
_HOLDERS = (
    ("Rijksmuseum", "Netherlands", "nl", "paintings"),
    ("Nationalmuseum Sweden", "Sweden", "sv", "paintings"),
    ("Museo Nacional del Prado", "Spain", "es", "paintings"),
    ("Staatliche Kunstsammlungen Dresden", "Germany", "de", "prints"),
    ("National Library of Wales", "United Kingdom", "cy", "manuscripts"),
    ("Bibliothèque nationale de France", "France", "fr", "maps"),
    ("Finnish Heritage Agency", "Finland", "fi", "photographs"),
    ("Muzeum Narodowe w Warszawie", "Poland", "pl", "prints"),
)
SET_SPECS = tuple(sorted({f"collections:{holder[3]}" for holder in _HOLDERS}))
_AGGREGATOR = "Heritage Test Aggregator"
_CREATORS = (
    "Johannes Vermeer",
    "Rembrandt van Rijn",
    "Judith Leyster",
    "Diego Velázquez",
    "Albrecht Dürer",
    "Anders Zorn",
    "Akseli Gallen-Kallela",
    "Olga Boznańska",
    "Gwen John",
    "Berthe Morisot",
    "Unknown maker",
)
# The year each creator died (LIDO vitalDatesActor); the unknown maker has none.
_DEATH_YEARS = {
    "Johannes Vermeer": 1675,
    "Rembrandt van Rijn": 1669,
    "Judith Leyster": 1660,
    "Diego Velázquez": 1660,
    "Albrecht Dürer": 1528,
    "Anders Zorn": 1920,
    "Akseli Gallen-Kallela": 1931,
    "Olga Boznańska": 1940,
    "Gwen John": 1939,
    "Berthe Morisot": 1895,
}
# Embargoes of some objects, by index modulo 10 (LIDO rightsWorkSet "Embargo" with its
# rightsDate): one already ended (a date and time with an offset), one far in the future
# (a date alone), one ended month.
_EMBARGOES = {3: "2021-06-30T17:00:00+02:00", 6: "2099-12-31", 8: "2024-05"}
# (English, German, French) title stems.
_SUBJECTS = (
    ("Portrait of a Woman", "Bildnis einer Frau", "Portrait de femme"),
    ("Winter Landscape", "Winterlandschaft", "Paysage d'hiver"),
    ("View of a Harbour", "Ansicht eines Hafens", "Vue d'un port"),
    ("Still Life with Flowers", "Blumenstillleben", "Nature morte aux fleurs"),
    ("Map of the Coast", "Karte der Küste", "Carte de la côte"),
    ("Letter to a Friend", "Brief an einen Freund", "Lettre à un ami"),
    ("Church Interior", "Kircheninneres", "Intérieur d'église"),
    ("Study of Hands", "Handstudie", "Étude de mains"),
)
_QUALIFIERS = ("", "I", "II", "with a Dog", "at Dusk", "in Blue")
# (Europeana type, DCMI type, LIDO/AAT work type, MIME type of the representation)
_KINDS = (
    ("IMAGE", "Image", "painting", "image/jpeg"),
    ("IMAGE", "StillImage", "photograph", "image/jpeg"),
    ("TEXT", "Text", "letter", "application/pdf"),
    ("SOUND", "Sound", "sound recording", "audio/mpeg"),
    ("VIDEO", "MovingImage", "film", "video/mp4"),
    ("3D", "PhysicalObject", "sculpture", "model/gltf-binary"),
)
_RIGHTS = (
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/licenses/by-sa/4.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "http://rightsstatements.org/vocab/NoC-NC/1.0/",
)


@dataclass(frozen=True)
class GeneratedObject:
    """One heritage object in one version; every format renders these same facts."""

    local_id: str
    version: int
    europeana_type: str
    dcmi_type: str
    work_type: str
    mime_type: str
    # (ISO 639-1 language, title), preferred first.
    titles: tuple[tuple[str, str], ...]
    creator: str
    # The date as a cataloguer wrote it, plus its year range.
    display_date: str
    earliest_year: int
    latest_year: int
    description: str
    rights: str
    image_url: str
    landing_url: str
    data_provider: str
    provider: str
    country: str
    language: str
    set_spec: str
    # The year the creator died, when known.
    creator_death_year: int | None = None
    # The end of the object's embargo as the provider writes it; None: no embargo.
    embargo_until: str | None = None


def generated_object(seed: int, index: int, version: int = 0) -> GeneratedObject:
    """The object at ``index``; version 1 is the same object after a curator's revision."""
    rng = random.Random(f"oai-object:{seed}:{index}")
    holder, country, language, collection = rng.choice(_HOLDERS)
    english, german, french = rng.choice(_SUBJECTS)
    qualifier = rng.choice(_QUALIFIERS)
    europeana_type, dcmi_type, work_type, mime_type = rng.choice(_KINDS)
    creator = rng.choice(_CREATORS)
    year = rng.randint(1450, 1950)
    span = rng.choice((0, 0, 0, 5, 10, 25))
    display_date = str(year) if span == 0 else rng.choice((f"{year}-{year + span}", f"c. {year}"))
    rights = rng.choice(_RIGHTS)
    local_id = f"object-{index:07d}"
    english_title = f"{english} {qualifier}".strip()
    description = f"{english_title} by {creator}, in the collection of {holder}."
    if version > 0:
        # A revision a curator would make: corrected attribution note and a new title variant.
        english_title = f"{english_title} (revised {version})"
        description = f"{description} Attribution reviewed in revision {version}."
    return GeneratedObject(
        local_id=local_id,
        version=version,
        europeana_type=europeana_type,
        dcmi_type=dcmi_type,
        work_type=work_type,
        mime_type=mime_type,
        titles=(("en", english_title), ("de", german), ("fr", french)),
        creator=creator,
        display_date=display_date,
        earliest_year=year,
        latest_year=year + span,
        description=description,
        rights=rights,
        image_url=f"https://images.heritage.example.org/{local_id}/full/max/0/default.jpg",
        landing_url=f"https://collection.heritage.example.org/objects/{local_id}",
        data_provider=holder,
        provider=_AGGREGATOR,
        country=country,
        language=language,
        set_spec=f"collections:{collection}",
        creator_death_year=_DEATH_YEARS.get(creator),
        embargo_until=_EMBARGOES.get(index % 10),
    )


def _t(value: str) -> str:
    return escape(value)


def _a(value: str) -> str:
    return quoteattr(value)


def oai_dc_xml(obj: GeneratedObject, identifier: str, datestamp: str) -> str:
    titles = "".join(
        f"<dc:title xml:lang={_a(lang)}>{_t(title)}</dc:title>" for lang, title in obj.titles
    )
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
        f"{titles}"
        f"<dc:creator>{_t(obj.creator)}</dc:creator>"
        f"<dc:description>{_t(obj.description)}</dc:description>"
        f"<dc:date>{_t(obj.display_date)}</dc:date>"
        # The Europeana type first (aggregators ask for it), then the DCMI type term.
        f"<dc:type>{_t(obj.europeana_type)}</dc:type>"
        f"<dc:type>{_t(obj.dcmi_type)}</dc:type>"
        f"<dc:format>{_t(obj.mime_type)}</dc:format>"
        f"<dc:identifier>{_t(obj.landing_url)}</dc:identifier>"
        f"<dc:identifier>{_t(obj.image_url)}</dc:identifier>"
        f"<dc:source>{_t(obj.data_provider)}</dc:source>"
        f"<dc:publisher>{_t(obj.data_provider)}</dc:publisher>"
        f"<dc:language>{_t(obj.language)}</dc:language>"
        f"<dc:coverage>{_t(obj.country)}</dc:coverage>"
        f"<dc:rights>{_t(obj.rights)}</dc:rights>"
        "</oai_dc:dc>"
    )


_LIDO_URI = "http://terminology.lido-schema.org/"


def _lido_vital_dates(obj: GeneratedObject) -> str:
    if obj.creator_death_year is None:
        return ""
    return (
        f"<lido:vitalDatesActor><lido:latestDate>{obj.creator_death_year}</lido:latestDate>"
        "</lido:vitalDatesActor>"
    )


def _lido_embargo(obj: GeneratedObject) -> str:
    if obj.embargo_until is None:
        return ""
    return (
        '<lido:rightsWorkSet><lido:rightsType><lido:term xml:lang="en">Embargo</lido:term>'
        "</lido:rightsType><lido:rightsDate>"
        f"<lido:latestDate>{_t(obj.embargo_until)}</lido:latestDate>"
        "</lido:rightsDate></lido:rightsWorkSet>"
    )


def lido_xml(obj: GeneratedObject, identifier: str, datestamp: str) -> str:
    """LIDO 1.1, element order as in the schema (and in the DDB exports it was modelled on)."""
    title_sets = "".join(
        f'<lido:titleSet lido:type="http://vocab.getty.edu/aat/300417206">'
        f'<lido:appellationValue lido:pref="{_LIDO_URI}lido00169" xml:lang={_a(lang)}>'
        f"{_t(title)}</lido:appellationValue></lido:titleSet>"
        for lang, title in obj.titles
    )
    return (
        '<lido:lido xmlns:lido="http://www.lido-schema.org" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.lido-schema.org '
        'http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd">'
        f'<lido:lidoRecID lido:source={_a(obj.data_provider)} lido:type="{_LIDO_URI}lido00100">'
        f"{_t(obj.local_id)}</lido:lidoRecID>"
        f'<lido:objectPublishedID lido:type="{_LIDO_URI}lido00099">'
        f"{_t(obj.landing_url)}</lido:objectPublishedID>"
        "<lido:category>"
        f'<lido:conceptID lido:type="{_LIDO_URI}lido00099">{_LIDO_URI}lido00096</lido:conceptID>'
        '<lido:term xml:lang="en">Human-made object</lido:term>'
        "</lido:category>"
        '<lido:descriptiveMetadata xml:lang="en">'
        "<lido:objectClassificationWrap><lido:objectWorkTypeWrap><lido:objectWorkType>"
        f"<lido:term>{_t(obj.work_type)}</lido:term>"
        "</lido:objectWorkType></lido:objectWorkTypeWrap>"
        # Europeana's LIDO profile carries the Europeana type as a classification.
        '<lido:classificationWrap><lido:classification lido:type="europeana:type">'
        f"<lido:term>{_t(obj.europeana_type)}</lido:term>"
        "</lido:classification></lido:classificationWrap>"
        "</lido:objectClassificationWrap>"
        "<lido:objectIdentificationWrap>"
        f"<lido:titleWrap>{title_sets}</lido:titleWrap>"
        "<lido:repositoryWrap><lido:repositorySet>"
        "<lido:repositoryName><lido:legalBodyName>"
        f"<lido:appellationValue>{_t(obj.data_provider)}</lido:appellationValue>"
        "</lido:legalBodyName></lido:repositoryName>"
        f"<lido:workID>{_t(obj.local_id)}</lido:workID>"
        "</lido:repositorySet></lido:repositoryWrap>"
        "<lido:objectDescriptionWrap><lido:objectDescriptionSet>"
        f'<lido:descriptiveNoteValue xml:lang="en">{_t(obj.description)}'
        "</lido:descriptiveNoteValue>"
        "</lido:objectDescriptionSet></lido:objectDescriptionWrap>"
        "</lido:objectIdentificationWrap>"
        "<lido:eventWrap><lido:eventSet><lido:event>"
        "<lido:eventType>"
        f'<lido:conceptID lido:type="{_LIDO_URI}lido00099">{_LIDO_URI}lido00007</lido:conceptID>'
        '<lido:term xml:lang="en">Production</lido:term>'
        "</lido:eventType>"
        "<lido:eventActor><lido:actorInRole><lido:actor>"
        f"<lido:nameActorSet><lido:appellationValue>{_t(obj.creator)}</lido:appellationValue>"
        f"</lido:nameActorSet>{_lido_vital_dates(obj)}</lido:actor></lido:actorInRole>"
        "</lido:eventActor>"
        "<lido:eventDate>"
        f"<lido:displayDate>{_t(obj.display_date)}</lido:displayDate>"
        f"<lido:date><lido:earliestDate>{obj.earliest_year}</lido:earliestDate>"
        f"<lido:latestDate>{obj.latest_year}</lido:latestDate></lido:date>"
        "</lido:eventDate>"
        "</lido:event></lido:eventSet></lido:eventWrap>"
        "</lido:descriptiveMetadata>"
        '<lido:administrativeMetadata xml:lang="en">'
        "<lido:rightsWorkWrap><lido:rightsWorkSet><lido:rightsType>"
        f'<lido:conceptID lido:type="{_LIDO_URI}lido00099">{_t(obj.rights)}</lido:conceptID>'
        "</lido:rightsType></lido:rightsWorkSet>"
        f"{_lido_embargo(obj)}</lido:rightsWorkWrap>"
        "<lido:recordWrap>"
        f'<lido:recordID lido:type="{_LIDO_URI}lido00100">{_t(identifier)}</lido:recordID>'
        "<lido:recordType>"
        f'<lido:conceptID lido:type="{_LIDO_URI}lido00099">{_LIDO_URI}lido00141</lido:conceptID>'
        '<lido:term xml:lang="en">item</lido:term>'
        "</lido:recordType>"
        "<lido:recordSource><lido:legalBodyName>"
        f"<lido:appellationValue>{_t(obj.provider)}</lido:appellationValue>"
        "</lido:legalBodyName></lido:recordSource>"
        "<lido:recordInfoSet>"
        f"<lido:recordInfoLink>{_t(obj.landing_url)}</lido:recordInfoLink>"
        f"<lido:recordMetadataDate>{_t(datestamp)}</lido:recordMetadataDate>"
        "</lido:recordInfoSet>"
        "</lido:recordWrap>"
        "<lido:resourceWrap><lido:resourceSet>"
        f'<lido:resourceID lido:type="{_LIDO_URI}lido00100">{_t(obj.local_id)}-1</lido:resourceID>'
        f'<lido:resourceRepresentation lido:type="{_LIDO_URI}lido00464">'
        f"<lido:linkResource lido:formatResource={_a(obj.mime_type)}>{_t(obj.image_url)}"
        "</lido:linkResource></lido:resourceRepresentation>"
        "<lido:rightsResource><lido:rightsType>"
        f'<lido:conceptID lido:type="{_LIDO_URI}lido00099">{_t(obj.rights)}</lido:conceptID>'
        "</lido:rightsType></lido:rightsResource>"
        "</lido:resourceSet></lido:resourceWrap>"
        "</lido:administrativeMetadata>"
        "</lido:lido>"
    )


def edm_xml(obj: GeneratedObject, identifier: str, datestamp: str) -> str:
    """EDM as Europeana's OAI-PMH endpoint serves it: one ProvidedCHO, its Aggregation and
    the WebResource of the image."""
    cho = f"http://data.heritage.example.org/item/{obj.local_id}"
    titles = "".join(
        f"<dc:title xml:lang={_a(lang)}>{_t(title)}</dc:title>" for lang, title in obj.titles
    )
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:edm="http://www.europeana.eu/schemas/edm/" '
        'xmlns:ore="http://www.openarchives.org/ore/terms/">'
        f"<edm:ProvidedCHO rdf:about={_a(cho)}>"
        f"{titles}"
        f"<dc:creator>{_t(obj.creator)}</dc:creator>"
        f"<dc:date>{_t(obj.display_date)}</dc:date>"
        f'<dc:description xml:lang="en">{_t(obj.description)}</dc:description>'
        f"<dc:identifier>{_t(obj.local_id)}</dc:identifier>"
        f"<dc:language>{_t(obj.language)}</dc:language>"
        f'<dc:type xml:lang="en">{_t(obj.work_type)}</dc:type>'
        f"<edm:type>{_t(obj.europeana_type)}</edm:type>"
        "</edm:ProvidedCHO>"
        f"<edm:WebResource rdf:about={_a(obj.image_url)}>"
        f"<dc:format>{_t(obj.mime_type)}</dc:format>"
        f"<edm:rights rdf:resource={_a(obj.rights)}/>"
        "</edm:WebResource>"
        f'<ore:Aggregation rdf:about="{cho}#aggregation">'
        f"<edm:aggregatedCHO rdf:resource={_a(cho)}/>"
        f"<edm:dataProvider>{_t(obj.data_provider)}</edm:dataProvider>"
        f"<edm:isShownAt rdf:resource={_a(obj.landing_url)}/>"
        f"<edm:isShownBy rdf:resource={_a(obj.image_url)}/>"
        f"<edm:provider>{_t(obj.provider)}</edm:provider>"
        f"<edm:rights rdf:resource={_a(obj.rights)}/>"
        "</ore:Aggregation>"
        "</rdf:RDF>"
    )


def _gco_string(value: str) -> str:
    return f"<gco:CharacterString>{_t(value)}</gco:CharacterString>"


def _gco_date(datestamp: str) -> str:
    if len(datestamp) == 10:
        return f"<gco:Date>{_t(datestamp)}</gco:Date>"
    return f"<gco:DateTime>{_t(datestamp.rstrip('Z'))}</gco:DateTime>"


_ISO_LANGUAGES = {
    "nl": "dut",
    "sv": "swe",
    "es": "spa",
    "de": "ger",
    "cy": "wel",
    "fr": "fre",
    "fi": "fin",
    "pl": "pol",
}


def iso19139_xml(obj: GeneratedObject, identifier: str, datestamp: str) -> str:
    """ISO 19139 metadata for the object's digitised image (how map libraries publish scans),
    elements in the order gmd.xsd prescribes."""
    language = _ISO_LANGUAGES.get(obj.language, "eng")
    code_list = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
    return (
        '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" '
        'xmlns:gco="http://www.isotc211.org/2005/gco" '
        'xmlns:gmx="http://www.isotc211.org/2005/gmx" '
        'xmlns:xlink="http://www.w3.org/1999/xlink">'
        f"<gmd:fileIdentifier>{_gco_string(obj.local_id)}</gmd:fileIdentifier>"
        "<gmd:language>"
        f'<gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" '
        f'codeListValue="{language}">{language}</gmd:LanguageCode>'
        "</gmd:language>"
        "<gmd:hierarchyLevel>"
        f'<gmd:MD_ScopeCode codeList="{code_list}#MD_ScopeCode" '
        'codeListValue="dataset">dataset</gmd:MD_ScopeCode>'
        "</gmd:hierarchyLevel>"
        "<gmd:contact><gmd:CI_ResponsibleParty>"
        f"<gmd:organisationName>{_gco_string(obj.data_provider)}</gmd:organisationName>"
        "<gmd:role>"
        f'<gmd:CI_RoleCode codeList="{code_list}#CI_RoleCode" '
        'codeListValue="pointOfContact">pointOfContact</gmd:CI_RoleCode>'
        "</gmd:role>"
        "</gmd:CI_ResponsibleParty></gmd:contact>"
        f"<gmd:dateStamp>{_gco_date(datestamp)}</gmd:dateStamp>"
        f"<gmd:metadataStandardName>{_gco_string('ISO 19115:2003/19139')}"
        "</gmd:metadataStandardName>"
        f"<gmd:metadataStandardVersion>{_gco_string('1.0')}</gmd:metadataStandardVersion>"
        "<gmd:identificationInfo><gmd:MD_DataIdentification>"
        "<gmd:citation><gmd:CI_Citation>"
        f"<gmd:title>{_gco_string(obj.titles[0][1])}</gmd:title>"
        "<gmd:date><gmd:CI_Date>"
        f"<gmd:date><gco:Date>{obj.earliest_year:04d}-01-01</gco:Date></gmd:date>"
        "<gmd:dateType>"
        f'<gmd:CI_DateTypeCode codeList="{code_list}#CI_DateTypeCode" '
        'codeListValue="creation">creation</gmd:CI_DateTypeCode>'
        "</gmd:dateType>"
        "</gmd:CI_Date></gmd:date>"
        "<gmd:citedResponsibleParty><gmd:CI_ResponsibleParty>"
        f"<gmd:individualName>{_gco_string(obj.creator)}</gmd:individualName>"
        "<gmd:role>"
        f'<gmd:CI_RoleCode codeList="{code_list}#CI_RoleCode" '
        'codeListValue="originator">originator</gmd:CI_RoleCode>'
        "</gmd:role>"
        "</gmd:CI_ResponsibleParty></gmd:citedResponsibleParty>"
        "</gmd:CI_Citation></gmd:citation>"
        f"<gmd:abstract>{_gco_string(obj.description)}</gmd:abstract>"
        "<gmd:pointOfContact><gmd:CI_ResponsibleParty>"
        f"<gmd:organisationName>{_gco_string(obj.data_provider)}</gmd:organisationName>"
        "<gmd:role>"
        f'<gmd:CI_RoleCode codeList="{code_list}#CI_RoleCode" '
        'codeListValue="custodian">custodian</gmd:CI_RoleCode>'
        "</gmd:role>"
        "</gmd:CI_ResponsibleParty></gmd:pointOfContact>"
        "<gmd:graphicOverview><gmd:MD_BrowseGraphic>"
        f"<gmd:fileName>{_gco_string(obj.image_url)}</gmd:fileName>"
        f"<gmd:fileType>{_gco_string(obj.mime_type)}</gmd:fileType>"
        "</gmd:MD_BrowseGraphic></gmd:graphicOverview>"
        "<gmd:resourceConstraints><gmd:MD_LegalConstraints>"
        "<gmd:accessConstraints>"
        f'<gmd:MD_RestrictionCode codeList="{code_list}#MD_RestrictionCode" '
        'codeListValue="otherRestrictions">otherRestrictions</gmd:MD_RestrictionCode>'
        "</gmd:accessConstraints>"
        "<gmd:otherConstraints>"
        f"<gmx:Anchor xlink:href={_a(obj.rights)}>{_t(obj.rights)}</gmx:Anchor>"
        "</gmd:otherConstraints>"
        "</gmd:MD_LegalConstraints></gmd:resourceConstraints>"
        "<gmd:language>"
        f'<gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" '
        f'codeListValue="{language}">{language}</gmd:LanguageCode>'
        "</gmd:language>"
        "</gmd:MD_DataIdentification></gmd:identificationInfo>"
        "<gmd:distributionInfo><gmd:MD_Distribution><gmd:transferOptions>"
        "<gmd:MD_DigitalTransferOptions><gmd:onLine><gmd:CI_OnlineResource>"
        f"<gmd:linkage><gmd:URL>{_t(obj.landing_url)}</gmd:URL></gmd:linkage>"
        "</gmd:CI_OnlineResource></gmd:onLine></gmd:MD_DigitalTransferOptions>"
        "</gmd:transferOptions></gmd:MD_Distribution></gmd:distributionInfo>"
        "</gmd:MD_Metadata>"
    )


RENDERERS: dict[str, Callable[[GeneratedObject, str, str], str]] = {
    "oai_dc": oai_dc_xml,
    "lido": lido_xml,
    "edm": edm_xml,
    "iso19139": iso19139_xml,
}


def metadata_xml(prefix: str, obj: GeneratedObject, identifier: str, datestamp: str) -> str:
    """The object as the child of <metadata> in format ``prefix`` (a key of METADATA_FORMATS)."""
    return RENDERERS[prefix](obj, identifier, datestamp)
