"""The IIIF Presentation 3.0 test vectors and the official schema, read from ../shared (never
copied into the repository), and a sample object for the builder tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from heritage.iiif.manifest_builder import ManifestObject

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
IIIF_CORPUS = SHARED / "corpus" / "iiif"
IIIF_SCHEMA = SHARED / "schemas" / "iiif" / "iiif_3_0.json"
BASE_URL = "http://localhost:8182/iiif"

# valid/: file -> top-level type (EXPECTED.md).
VALID_FIXTURES = {
    "accompanyingCanvas.json": "Manifest",
    "annoPage.json": "AnnotationPage",
    "annoPageInCollection.json": "AnnotationPage",
    "annoPageMultipleMotivations.json": "AnnotationPage",
    "anno_pointselector.json": "AnnotationPage",
    "anno_source.json": "Manifest",
    "annotation_full.json": "AnnotationPage",
    "choice.json": "Manifest",
    "collection.json": "Collection",
    "collection_of_collections.json": "Collection",
    "content_state.json": "Annotation",
    "extension_anno.json": "Manifest",
    "full_example.json": "Manifest",
    "multi_bodies.json": "Manifest",
    "navPlace.json": "Manifest",
    "old_cc_license.json": "Manifest",
    "placeholderCanvas.json": "Manifest",
    "point_selector.json": "Manifest",
    "publicdomain.json": "Manifest",
    "range_range.json": "Manifest",
    "rightsstatement_license.json": "Manifest",
    "simple_video.json": "Manifest",
    "version2image.json": "Manifest",
}
INVALID_FIXTURES = (
    "broken_choice.json",
    "broken_collection.json",
    "broken_embedded_annos.json",
    "broken_service.json",
    "broken_simple_image.json",
    "collection_of_canvases.json",
    "non_cc_license.json",
    "old_format_label.json",
    "rights_lang_issues.json",
)

# Canonical rights URIs in the form heritage.rights emits (http, /vocab/, trailing slash).
CANONICAL_RIGHTS = (
    "http://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/licenses/by-sa/3.0/de/",
    "http://creativecommons.org/licenses/by-nc-nd/4.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "http://rightsstatements.org/vocab/InC-EDU/1.0/",
    "http://rightsstatements.org/vocab/NoC-NC/1.0/",
    "http://rightsstatements.org/vocab/CNE/1.0/",
)


def load_fixture(group: str, name: str) -> Any:
    path = IIIF_CORPUS / group / name
    if not path.is_file():
        pytest.skip(f"IIIF test vectors not present at {IIIF_CORPUS}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_schema() -> Any:
    if not IIIF_SCHEMA.is_file():
        pytest.skip(f"IIIF Presentation 3.0 schema not present at {IIIF_SCHEMA}")
    return json.loads(IIIF_SCHEMA.read_text(encoding="utf-8"))


def sample_object(**changes: Any) -> ManifestObject:
    fields: dict[str, Any] = {
        "object_id": "museum-x/inv 12#a",
        "titles": {"en": ["Harbour at dusk"], "nl": ["Haven bij schemering"]},
        "descriptions": {"en": ["Oil on canvas."]},
        "metadata": [({"en": ["Date"]}, {"none": ["1889"]})],
        "rights_uri": "http://creativecommons.org/publicdomain/mark/1.0/",
        "data_provider": "Museum X",
        "image_url": "http://localhost:9000/heritage/images/museum-x/inv12a.jpg",
        "image_format": "image/jpeg",
        "width": 1200,
        "height": 800,
        "homepage": "https://museum-x.example/objects/inv-12a",
        "see_also": ["https://museum-x.example/oai?verb=GetRecord&identifier=inv-12a"],
    }
    fields.update(changes)
    return ManifestObject(**fields)
