"""The manifest builder, the provider collection and the Auth 2.0 probe answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from iiif_fixtures import BASE_URL, sample_object

from heritage.iiif.auth_services import AUTH_2_CONTEXT, probe_result, probe_service_id
from heritage.iiif.manifest_builder import (
    build_manifest,
    build_staff_manifest,
    language_map,
    manifest_id,
    provider_collection,
)
from heritage.iiif.presentation import IiifDocumentError, parse_iiif_document, parse_manifest

STEM = f"{BASE_URL}/manifests/museum-x%2Finv%2012%23a"


def _image_body(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["items"][0]["items"][0]["items"][0]["body"]


def test_the_public_manifest_of_one_image() -> None:
    manifest = build_manifest(sample_object(), BASE_URL)
    assert manifest == {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": f"{STEM}.json",
        "type": "Manifest",
        "label": {"en": ["Harbour at dusk"], "nl": ["Haven bij schemering"]},
        "metadata": [{"label": {"en": ["Date"]}, "value": {"none": ["1889"]}}],
        "summary": {"en": ["Oil on canvas."]},
        "requiredStatement": {"label": {"en": ["Attribution"]}, "value": {"none": ["Museum X"]}},
        "rights": "http://creativecommons.org/publicdomain/mark/1.0/",
        "homepage": [
            {
                "id": "https://museum-x.example/objects/inv-12a",
                "type": "Text",
                "label": {"en": ["Harbour at dusk"], "nl": ["Haven bij schemering"]},
                "format": "text/html",
            }
        ],
        "seeAlso": [
            {
                "id": "https://museum-x.example/oai?verb=GetRecord&identifier=inv-12a",
                "type": "Dataset",
            }
        ],
        "partOf": [
            {
                "id": f"{BASE_URL}/collections/Museum%20X.json",
                "type": "Collection",
                "label": {"none": ["Museum X"]},
            }
        ],
        "items": [
            {
                "id": f"{STEM}/canvas/1",
                "type": "Canvas",
                "width": 1200,
                "height": 800,
                "items": [
                    {
                        "id": f"{STEM}/page/1",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": f"{STEM}/annotation/1",
                                "type": "Annotation",
                                "motivation": "painting",
                                "body": {
                                    "id": "http://localhost:9000/heritage/images/museum-x/inv12a.jpg",
                                    "type": "Image",
                                    "format": "image/jpeg",
                                    "width": 1200,
                                    "height": 800,
                                },
                                "target": f"{STEM}/canvas/1",
                            }
                        ],
                    }
                ],
            }
        ],
    }
    assert parse_manifest(manifest).model_dump(by_alias=True, exclude_none=True) == manifest


def test_ids_quote_the_object_id_whole_and_ignore_a_trailing_slash_on_the_base() -> None:
    assert (
        manifest_id(f"{BASE_URL}/", "a/b c#d?e") == f"{BASE_URL}/manifests/a%2Fb%20c%23d%3Fe.json"
    )
    assert build_manifest(sample_object(), f"{BASE_URL}/")["id"] == f"{STEM}.json"


def test_optional_parts_are_left_out_when_the_object_has_none() -> None:
    manifest = build_manifest(
        sample_object(
            descriptions={"en": [], "de": [""]},
            metadata=[({"en": ["Empty"]}, {"en": []})],
            homepage=None,
            see_also=[],
            image_format=None,
        ),
        BASE_URL,
    )
    for absent in ("summary", "metadata", "homepage", "seeAlso"):
        assert absent not in manifest
    assert "format" not in _image_body(manifest)
    parse_manifest(manifest)


def test_an_object_without_titles_is_labelled_with_its_id() -> None:
    manifest = build_manifest(sample_object(titles={}), BASE_URL)
    assert manifest["label"] == {"none": ["museum-x/inv 12#a"]}


def test_language_maps_are_sorted_and_keys_iiif_cannot_take_go_under_none() -> None:
    cleaned = language_map({"nl": ["b"], "@none": ["x"], "es-419": ["y"], "en": ["a", ""]})
    assert cleaned == {"none": ["x", "y"], "en": ["a"], "nl": ["b"]}
    assert list(language_map({"nl": ["b"], "en": ["a"]}) or {}) == ["en", "nl"]
    assert language_map({"en": [""], "de": []}) is None


def test_the_same_object_always_gives_the_same_json() -> None:
    first = sample_object(titles={"nl": ["Haven"], "en": ["Harbour"]})
    second = sample_object(titles={"en": ["Harbour"], "nl": ["Haven"]})
    expected = json.dumps(build_manifest(first, BASE_URL))
    assert json.dumps(build_manifest(first, BASE_URL)) == expected
    assert json.dumps(build_manifest(second, BASE_URL)) == expected
    assert json.dumps(build_staff_manifest(first, BASE_URL)) == json.dumps(
        build_staff_manifest(second, BASE_URL)
    )


def test_a_rights_uri_iiif_refuses_is_an_error_naming_the_object() -> None:
    with pytest.raises(IiifDocumentError, match="museum-x/inv 12#a") as caught:
        build_manifest(
            sample_object(rights_uri="https://creativecommons.org/licenses/by/4.0/"), BASE_URL
        )
    assert [path for path, _ in caught.value.problems] == ["/rights"]


def test_the_staff_manifest_adds_the_auth_2_chain_to_the_image() -> None:
    public = build_manifest(sample_object(), BASE_URL)
    staff = build_staff_manifest(sample_object(), BASE_URL)
    services = _image_body(staff).pop("service")
    assert staff == public
    [probe] = services
    assert probe["id"] == probe_service_id(BASE_URL, "museum-x/inv 12#a")
    assert probe["id"] == f"{BASE_URL}/probe/museum-x%2Finv%2012%23a"
    assert probe["type"] == "AuthProbeService2"
    [access] = probe["service"]
    assert access["type"] == "AuthAccessService2"
    assert access["profile"] == "active"
    assert access["label"] == {"en": ["Staff login"]}
    assert [inner["type"] for inner in access["service"]] == [
        "AuthAccessTokenService2",
        "AuthLogoutService2",
    ]
    assert all(inner["id"].startswith(f"{BASE_URL}/auth/") for inner in access["service"])


def test_the_staff_manifest_parses_back_to_itself() -> None:
    staff = build_staff_manifest(sample_object(), BASE_URL)
    assert parse_manifest(staff).model_dump(by_alias=True, exclude_none=True) == staff


def test_a_provider_collection_references_its_manifests_in_object_id_order() -> None:
    collection = provider_collection(
        "Museum X", [("b/2", "Second"), ("a 1", "First"), ("c", "")], BASE_URL
    )
    assert collection == {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": f"{BASE_URL}/collections/Museum%20X.json",
        "type": "Collection",
        "label": {"none": ["Museum X"]},
        "items": [
            {
                "id": f"{BASE_URL}/manifests/a%201.json",
                "type": "Manifest",
                "label": {"none": ["First"]},
            },
            {
                "id": f"{BASE_URL}/manifests/b%2F2.json",
                "type": "Manifest",
                "label": {"none": ["Second"]},
            },
            {"id": f"{BASE_URL}/manifests/c.json", "type": "Manifest", "label": {"none": ["c"]}},
        ],
    }
    assert parse_iiif_document(collection).model_dump(by_alias=True, exclude_none=True) == (
        collection
    )
    reordered = provider_collection(
        "Museum X", [("c", ""), ("a 1", "First"), ("b/2", "Second")], BASE_URL
    )
    assert json.dumps(reordered) == json.dumps(collection)


def test_the_manifest_is_part_of_its_provider_collection() -> None:
    manifest = build_manifest(sample_object(), BASE_URL)
    collection = provider_collection("Museum X", [("museum-x/inv 12#a", "x")], BASE_URL)
    assert manifest["partOf"][0]["id"] == collection["id"]
    assert collection["items"][0]["id"] == manifest["id"]


def test_the_probe_answers_200_only_for_a_published_object() -> None:
    assert probe_result(True) == {
        "@context": AUTH_2_CONTEXT,
        "type": "AuthProbeResult2",
        "status": 200,
    }
    refused = probe_result(False)
    assert refused["@context"] == AUTH_2_CONTEXT
    assert refused["type"] == "AuthProbeResult2"
    assert refused["status"] == 401
    assert refused["heading"] == {"en": ["Not available"]}
    assert set(refused["note"]) == {"en"} and refused["note"]["en"][0]
