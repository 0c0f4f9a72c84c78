"""A realistic, deterministic sample collection of Europeana-shaped records.

Pure: the same ``(size, seed)`` always gives the same records and the same manifest of
what each record is meant to be (valid, malformed and why, updated later, duplicate of
another). Records follow the Europeana Search API item shape: multilingual titles
(``dcTitleLangAware``), creators, dates in the mixed formats providers really send, rights
URIs in current and legacy forms, and image URLs (``edmIsShownBy``).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from heritage.record_model import canonical_json, europeana_record_id, unidentified_record_id

SOURCE = "europeana"

_PROVIDERS = (
    ("Rijksmuseum", "Netherlands", "nl", "2021672"),
    ("Mauritshuis", "Netherlands", "nl", "2021673"),
    ("Nationalmuseum Sweden", "Sweden", "sv", "2048128"),
    ("Museo Nacional del Prado", "Spain", "es", "2058611"),
    ("Staatliche Kunstsammlungen Dresden", "Germany", "de", "2048005"),
    ("National Library of Wales", "United Kingdom", "cy", "9200579"),
    ("Bibliothèque nationale de France", "France", "fr", "9200397"),
    ("Finnish Heritage Agency", "Finland", "fi", "2058621"),
    ("Muzeum Narodowe w Warszawie", "Poland", "pl", "2024914"),
)
_AGGREGATORS = ("Europeana Foundation", "Digitale Collectie", "Athena Plus", "OpenUp!")
_CREATORS = (
    "Johannes Vermeer",
    "Rembrandt van Rijn",
    "Frans Hals",
    "Jan Steen",
    "Hendrick Avercamp",
    "Diego Velázquez",
    "Francisco de Goya",
    "Albrecht Dürer",
    "Caspar David Friedrich",
    "Anders Zorn",
    "Carl Larsson",
    "Akseli Gallen-Kallela",
    "Jan Matejko",
    "Olga Boznańska",
    "Gwen John",
    "Claude Monet",
    "Berthe Morisot",
    "Unknown maker",
)
# (English, Dutch, German, French) title stems; a record picks a stem and a qualifier.
_SUBJECTS = (
    ("Portrait of a Woman", "Portret van een vrouw", "Bildnis einer Frau", "Portrait de femme"),
    ("Winter Landscape", "Winterlandschap", "Winterlandschaft", "Paysage d'hiver"),
    ("The Merry Family", "Het vrolijke huisgezin", "Die fröhliche Familie", "La famille joyeuse"),
    ("View of a Harbour", "Gezicht op een haven", "Ansicht eines Hafens", "Vue d'un port"),
    (
        "Still Life with Flowers",
        "Stilleven met bloemen",
        "Blumenstillleben",
        "Nature morte aux fleurs",
    ),
    ("Map of the Coast", "Kaart van de kust", "Karte der Küste", "Carte de la côte"),
    ("Letter to a Friend", "Brief aan een vriend", "Brief an einen Freund", "Lettre à un ami"),
    ("Folk Song Recording", "Opname van een volkslied", "Volksliedaufnahme", "Chant populaire"),
    ("Study of Hands", "Studie van handen", "Handstudie", "Étude de mains"),
    ("Church Interior", "Kerkinterieur", "Kircheninneres", "Intérieur d'église"),
)
_QUALIFIERS = ("", "I", "II", "(sketch)", "with a Dog", "at Dusk", "in Blue", "(copy)")
_TYPES = ("IMAGE", "IMAGE", "IMAGE", "TEXT", "TEXT", "SOUND", "VIDEO", "3D")
# Current and legacy forms of the same statements, as providers send them.
_RIGHTS = (
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "https://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/licenses/by-sa/4.0/deed.en",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "https://rightsstatements.org/page/InC-EDU/1.0/?language=en",
    "http://rightsstatements.org/vocab/NoC-NC/1.0/",
    "http://www.europeana.eu/rights/rr-f/",
)
_DATE_FORMATS = (
    "{y}",
    "c. {y}",
    "{y}-{y2}",
    "{y}-{m:02d}-{d:02d}",
    "{d:02d}/{m:02d}/{y}",
    "{y}-{m:02d}-{d:02d}T10:00:00+01:00",
    "ca {y}",
)

MALFORMED_KINDS = (
    "missing_title",
    "bad_date",
    "unknown_rights",
    "bad_image_url",
    "unknown_type",
    "missing_id",
    "not_a_json_object",
    "bad_language",
)


@dataclass(frozen=True)
class SampleMessage:
    """One message to publish: a source payload (a dict, or a string when malformed)."""

    record_id: str
    payload: Any
    # A deletion (tombstone) of the record, sent after its versions.
    deleted: bool = False


@dataclass
class SampleManifest:
    """What the collection is meant to produce downstream."""

    valid_record_ids: set[str] = field(default_factory=set)
    malformed: dict[str, str] = field(default_factory=dict)  # record_id -> kind
    updated_record_ids: set[str] = field(default_factory=set)
    deleted_record_ids: set[str] = field(default_factory=set)
    exact_duplicates: dict[str, str] = field(default_factory=dict)  # copy -> original
    near_duplicates: dict[str, str] = field(default_factory=dict)  # variant -> original

    @property
    def message_count(self) -> int:
        return (
            len(self.valid_record_ids)
            + len(self.malformed)
            + len(self.updated_record_ids)
            + len(self.deleted_record_ids)
        )

    @property
    def live_record_ids(self) -> set[str]:
        """Valid records not deleted: what the cleansed and curated tables must hold."""
        return self.valid_record_ids - self.deleted_record_ids


@dataclass
class SampleCollection:
    messages: list[SampleMessage]
    manifest: SampleManifest


def _date(rng: random.Random) -> str:
    year = rng.randint(1480, 1950)
    return rng.choice(_DATE_FORMATS).format(
        y=year, y2=year + rng.randint(1, 20), m=rng.randint(1, 12), d=rng.randint(1, 28)
    )


def _valid_record(rng: random.Random, index: int) -> dict[str, Any]:
    provider, country, language, dataset = rng.choice(_PROVIDERS)
    subject = rng.choice(_SUBJECTS)
    qualifier = rng.choice(_QUALIFIERS)
    english = f"{subject[0]} {qualifier}".strip()
    local = f"{subject[1]} {qualifier}".strip()
    local_language = language if language in ("nl", "de", "fr") else "nl"
    local_title = {"nl": local, "de": subject[2], "fr": subject[3]}[local_language]
    stem = unicodedata.normalize("NFKD", provider.split()[0].lower()).encode("ascii", "ignore")
    local_id = f"{stem.decode()}_{index:07d}"
    europeana_id = f"/{dataset}/{local_id}"
    creator = rng.choice(_CREATORS)
    record: dict[str, Any] = {
        "id": europeana_id,
        "type": rng.choice(_TYPES),
        "title": [english],
        "dcTitleLangAware": {"en": [english], local_language: [local_title]},
        "dcCreator": [creator],
        "dcDescription": [f"{english} by {creator}, from the collection of {provider}."],
        "dcDate": [_date(rng)],
        "rights": [rng.choice(_RIGHTS)],
        "edmIsShownBy": [
            f"https://media.{dataset}.example.org/iiif/{local_id}/full/max/0/default.jpg"
        ],
        "dataProvider": [provider],
        "provider": [rng.choice(_AGGREGATORS)],
        "country": [country],
        "language": [language],
        "timestamp_update": f"2024-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}T08:00:00.000Z",
        "guid": f"https://www.europeana.eu/item{europeana_id}?utm_source=api",
    }
    if rng.random() < 0.15:
        del record["dcDate"]
    if rng.random() < 0.1:
        record["dcCreator"].append(rng.choice(_CREATORS))
    return record


def _break(record: dict[str, Any], kind: str) -> Any:
    """Make one defect of the given kind; the cleanse stage must name it."""
    broken = dict(record)
    match kind:
        case "missing_title":
            broken.pop("title")
            broken.pop("dcTitleLangAware")
        case "bad_date":
            broken["dcDate"] = ["31/02/1665"]
        case "unknown_rights":
            broken["rights"] = ["all rights reserved, ask the museum"]
        case "bad_image_url":
            broken["edmIsShownBy"] = ["javascript:alert(1)"]
        case "unknown_type":
            broken["type"] = "PAINTING"
        case "missing_id":
            broken.pop("id")
        case "not_a_json_object":
            return canonical_json(record)[: len(canonical_json(record)) // 2]
        case "bad_language":
            broken["language"] = ["Dutch (Netherlands)"]
    return broken


def _record_id(payload: Any) -> str:
    if isinstance(payload, dict) and "id" in payload:
        return europeana_record_id(payload["id"])
    raw = payload if isinstance(payload, str) else canonical_json(payload)
    return unidentified_record_id(SOURCE, raw.encode("utf-8"))


def check_change_fractions(update_fraction: float, delete_fraction: float) -> None:
    """Refuse shares of updates and deletions outside 0..1, or adding up to more than 1."""
    for name, value in (("update_fraction", update_fraction), ("delete_fraction", delete_fraction)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    if update_fraction + delete_fraction > 1.0 + 1e-9:  # float sums can overshoot 1
        raise ValueError(
            f"update_fraction + delete_fraction must be at most 1, got "
            f"{update_fraction} + {delete_fraction}"
        )


def pick_changes(
    record_ids: list[str], rng: random.Random, updates: int, deletions: int
) -> tuple[set[str], set[str]]:
    """Which records are revised and which deleted: disjoint, at most ``len(record_ids)``.

    One shuffle serves both, revisions from its front and deletions from its back, so that
    changing one count leaves the other choice as it was: a rerun with a larger deletion
    share publishes only the new tombstones (the ledger skips the rest).
    """
    order = list(record_ids)
    rng.shuffle(order)
    updates = min(updates, len(order))
    deletions = min(deletions, len(order) - updates)
    return set(order[:updates]), set(order[len(order) - deletions :])


def revision(message: SampleMessage) -> SampleMessage:
    """A later version of a record: same id, new content (so a new content_hash), and a
    source timestamp after every original's (those are all in 2024)."""
    updated = dict(message.payload)
    updated["dcDescription"] = [updated["dcDescription"][0] + " Provenance revised."]
    updated["timestamp_update"] = "2025-03-01T09:30:00.000Z"
    return SampleMessage(message.record_id, updated)


def tombstone(record_id: str) -> SampleMessage:
    """The deletion of a record as sources send one: its id only, flagged deleted."""
    return SampleMessage(record_id, {"id": record_id.removeprefix(f"{SOURCE}:")}, deleted=True)


def generate_sample_collection(
    size: int,
    seed: int = 7,
    update_fraction: float = 0.05,
    delete_fraction: float = 0.0,
    image_base_url: str | None = None,
) -> SampleCollection:
    """``size`` source records (about 5% malformed, 3% exact and 3% near duplicates of others)
    followed by revisions of ``round(update_fraction * size)`` of the valid ones, then
    deletions (tombstones) of ``round(delete_fraction * size)`` others, both capped at the
    valid records there are (:func:`pick_changes`). With ``image_base_url`` the image URLs
    point at a local image server (``<base>/media/<dataset>/iiif/...``, as served by
    ``heritage.ml.demo_image_server``) instead of ``https://media.<dataset>.example.org``."""
    if size < 1:
        raise ValueError(f"sample size must be at least 1, got {size}")
    check_change_fractions(update_fraction, delete_fraction)
    rng = random.Random(seed)
    manifest = SampleManifest()
    messages: list[SampleMessage] = []
    originals: list[dict[str, Any]] = []
    malformed_every = 20  # 5%
    for index in range(size):
        roll = rng.random()
        if index % malformed_every == malformed_every - 1:
            kind = MALFORMED_KINDS[(index // malformed_every) % len(MALFORMED_KINDS)]
            payload = _break(_valid_record(rng, index), kind)
            record_id = _record_id(payload)
            manifest.malformed[record_id] = kind
        elif originals and roll < 0.03:
            original = rng.choice(originals)
            payload = dict(
                _valid_record(rng, index),
                **{
                    k: original[k]
                    for k in (
                        "title",
                        "dcTitleLangAware",
                        "dcCreator",
                        "dcDate",
                        "type",
                        "edmIsShownBy",
                    )
                    if k in original
                },
            )
            record_id = _record_id(payload)
            manifest.exact_duplicates[record_id] = _record_id(original)
            manifest.valid_record_ids.add(record_id)
        elif originals and roll < 0.06:
            original = rng.choice(originals)
            payload = dict(original, id=_valid_record(rng, index)["id"])
            payload["title"] = [original["title"][0].upper() + "."]
            payload["edmIsShownBy"] = [original["edmIsShownBy"][0].replace("/max/", "/1200,/")]
            record_id = _record_id(payload)
            manifest.near_duplicates[record_id] = _record_id(original)
            manifest.valid_record_ids.add(record_id)
        else:
            payload = _valid_record(rng, index)
            originals.append(payload)
            record_id = _record_id(payload)
            manifest.valid_record_ids.add(record_id)
        messages.append(SampleMessage(record_id, payload))
    updated, deleted = pick_changes(
        [m.record_id for m in messages if m.record_id in manifest.valid_record_ids],
        rng,
        round(update_fraction * size),
        round(delete_fraction * size),
    )
    sent = list(messages)
    messages.extend(revision(m) for m in sent if m.record_id in updated)
    messages.extend(tombstone(m.record_id) for m in sent if m.record_id in deleted)
    manifest.updated_record_ids.update(updated)
    manifest.deleted_record_ids.update(deleted)
    if image_base_url:
        for message in messages:
            if isinstance(message.payload, dict) and "edmIsShownBy" in message.payload:
                message.payload["edmIsShownBy"] = [
                    with_image_base(url, image_base_url) for url in message.payload["edmIsShownBy"]
                ]
    return SampleCollection(messages, manifest)


_EXAMPLE_IMAGE_URL = re.compile(r"^https://media\.([A-Za-z0-9_-]+)\.example\.org/")


def with_image_base(url: str, base_url: str) -> str:
    """An example.org image URL of the collection served from ``base_url`` instead."""
    return _EXAMPLE_IMAGE_URL.sub(lambda m: f"{base_url.rstrip('/')}/media/{m.group(1)}/", url)


def iter_payload_kinds(collection: SampleCollection) -> Iterator[tuple[str, str]]:
    """(record_id, kind) for every message: 'valid', 'update', 'delete' or a malformed kind."""
    seen: set[str] = set()
    for message in collection.messages:
        if message.deleted:
            yield message.record_id, "delete"
        elif message.record_id in collection.manifest.malformed:
            yield message.record_id, collection.manifest.malformed[message.record_id]
        elif message.record_id in seen:
            yield message.record_id, "update"
        else:
            yield message.record_id, "valid"
        seen.add(message.record_id)
