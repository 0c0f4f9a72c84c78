"""The official IIIF Presentation 3.0 JSON Schema (draft 7) as the oracle: it classifies the
test vectors as documented, the models agree with it on every one, and everything the builder
makes (hand-picked and generated objects) passes it and parses with the models.

``HERITAGE_FUZZ_EXAMPLES`` sets the generated examples (200 by default); the seed is fixed.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from iiif_fixtures import (
    BASE_URL,
    CANONICAL_RIGHTS,
    INVALID_FIXTURES,
    VALID_FIXTURES,
    load_fixture,
    load_schema,
    sample_object,
)
from jsonschema import Draft7Validator

from heritage.iiif.manifest_builder import (
    ManifestObject,
    build_manifest,
    build_staff_manifest,
    provider_collection,
)
from heritage.iiif.presentation import IiifDocumentError, parse_iiif_document, parse_manifest
from heritage.rights import canonical_rights_uri

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def schema() -> Draft7Validator:
    document = load_schema()
    Draft7Validator.check_schema(document)
    return Draft7Validator(document)


def _schema_errors(schema: Draft7Validator, document: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in schema.iter_errors(document)
    ]


def _model_accepts(document: Any) -> bool:
    try:
        parse_iiif_document(document)
    except IiifDocumentError:
        return False
    return True


def _assert_schema_valid_and_parses(schema: Draft7Validator, document: dict[str, Any]) -> None:
    assert _schema_errors(schema, document) == []
    assert parse_iiif_document(document).model_dump(by_alias=True, exclude_none=True) == document


@pytest.mark.parametrize(
    ("group", "name"),
    [("valid", name) for name in sorted(VALID_FIXTURES)]
    + [("invalid", name) for name in INVALID_FIXTURES],
)
def test_schema_and_models_classify_every_fixture_as_documented(
    schema: Draft7Validator, group: str, name: str
) -> None:
    document = load_fixture(group, name)
    schema_accepts = not _schema_errors(schema, document)
    assert schema_accepts == (group == "valid")
    assert _model_accepts(document) == schema_accepts


def test_the_canonical_rights_fixtures_are_canonical() -> None:
    assert all(canonical_rights_uri(uri) == uri for uri in CANONICAL_RIGHTS)


@pytest.mark.parametrize("rights", CANONICAL_RIGHTS)
def test_built_manifests_and_collections_pass_the_schema(
    schema: Draft7Validator, rights: str
) -> None:
    obj = sample_object(rights_uri=rights)
    _assert_schema_valid_and_parses(schema, build_manifest(obj, BASE_URL))
    _assert_schema_valid_and_parses(schema, build_staff_manifest(obj, BASE_URL))
    _assert_schema_valid_and_parses(
        schema, provider_collection(obj.data_provider, [(obj.object_id, "x")], BASE_URL)
    )


def _body(document: dict[str, Any]) -> dict[str, Any]:
    return document["items"][0]["items"][0]["items"][0]["body"]


def _https_rights(document: dict[str, Any]) -> None:
    document["rights"] = document["rights"].replace("http://", "https://")


def _at_none_label(document: dict[str, Any]) -> None:
    document["label"] = {"@none": ["Harbour at dusk"]}


def _width_without_height(document: dict[str, Any]) -> None:
    del document["items"][0]["height"]


def _service_as_object(document: dict[str, Any]) -> None:
    _body(document)["service"] = _body(document)["service"][0]


MUTATIONS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_https_rights, "/rights"),
    (_at_none_label, "/label/@none"),
    (_width_without_height, "/items[0]"),
    (_service_as_object, "/items[0]/items[0]/items[0]/body/service"),
]


def _assert_both_refuse(
    schema: Draft7Validator,
    staff_manifest: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    path: str,
) -> None:
    mutated = copy.deepcopy(staff_manifest)
    mutate(mutated)
    assert _schema_errors(schema, mutated) != []
    with pytest.raises(IiifDocumentError) as caught:
        parse_manifest(mutated)
    assert path in [where for where, _ in caught.value.problems]


@pytest.mark.parametrize(("mutate", "path"), MUTATIONS)
def test_models_refuse_what_the_schema_refuses(
    schema: Draft7Validator, mutate: Callable[[dict[str, Any]], None], path: str
) -> None:
    document = build_staff_manifest(sample_object(), BASE_URL)
    assert _schema_errors(schema, document) == []
    _assert_both_refuse(schema, document, mutate, path)


# --- generated objects ------------------------------------------------------------------

# Languages of the collections, plus keys IIIF cannot take that the builder must fold away.
LANGUAGES = ("en", "de", "fr", "nl", "el", "ar", "ja", "zh-Hant", "uk", "none", "@none", "es-419")
ODD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24
) | st.sampled_from(["Ναυμαχία", "葛飾北斎 神奈川沖浪裏", "لوحة", "Kühe/Wiese #2", " ", "a?b=c&d"])
LANGUAGE_MAPS = st.dictionaries(
    st.sampled_from(LANGUAGES), st.lists(ODD_TEXT, max_size=3), max_size=4
)
ODD_IDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
) | st.sampled_from(["a/b/c", "inv 12 #3", "#", "%2F", "..", "ö/ß space"])


def _http(prefix: str) -> st.SearchStrategy[str]:
    return ODD_IDS.map(lambda text: f"{prefix}{quote(text, safe='/')}")


MANIFEST_OBJECTS = st.builds(
    ManifestObject,
    object_id=ODD_IDS,
    titles=LANGUAGE_MAPS,
    descriptions=LANGUAGE_MAPS,
    metadata=st.lists(st.tuples(LANGUAGE_MAPS, LANGUAGE_MAPS), max_size=4),
    rights_uri=st.sampled_from(CANONICAL_RIGHTS),
    data_provider=ODD_IDS,
    image_url=_http("http://localhost:9000/heritage/images/"),
    image_format=st.sampled_from([None, "image/jpeg", "image/png", "image/tiff", "image/jp2"]),
    width=st.integers(min_value=1, max_value=200_000),
    height=st.integers(min_value=1, max_value=200_000),
    homepage=st.none() | _http("https://museum.example/objects/"),
    see_also=st.lists(_http("https://museum.example/oai/"), max_size=2),
)
BASE_URLS = st.sampled_from(
    [BASE_URL, f"{BASE_URL}/", "https://iiif.example.org/heritage", "http://127.0.0.1:8182"]
)


@pytest.mark.fuzz
@FUZZ
@given(obj=MANIFEST_OBJECTS, base_url=BASE_URLS)
def test_generated_objects_give_schema_valid_manifests_that_round_trip(
    schema: Draft7Validator, obj: ManifestObject, base_url: str
) -> None:
    for build in (build_manifest, build_staff_manifest):
        manifest = build(obj, base_url)
        note(f"{build.__name__}: {manifest}")
        assert _schema_errors(schema, manifest) == []
        assert parse_manifest(manifest).model_dump(by_alias=True, exclude_none=True) == manifest
        assert build(obj, base_url) == manifest
    for mutate, path in MUTATIONS:
        _assert_both_refuse(schema, manifest, mutate, path)
    collection = provider_collection(obj.data_provider, [(obj.object_id, obj.object_id)], base_url)
    assert _schema_errors(schema, collection) == []
    assert parse_iiif_document(collection).model_dump(by_alias=True, exclude_none=True) == (
        collection
    )
