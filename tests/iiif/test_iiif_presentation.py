"""The Presentation 3.0 models on the validator's test vectors and on hand-made documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from iiif_fixtures import (
    CANONICAL_RIGHTS,
    IIIF_CORPUS,
    INVALID_FIXTURES,
    VALID_FIXTURES,
    load_fixture,
)

from heritage.iiif.presentation import (
    Canvas,
    Collection,
    IiifDocumentError,
    Manifest,
    Service,
    json_path,
    parse_iiif_document,
    parse_manifest,
)

# invalid/: file -> (JSON path, words of the reason) that the error must list (EXPECTED.md).
EXPECTED_PROBLEMS: dict[str, list[tuple[str, str]]] = {
    "broken_choice.json": [("/items[0]", "width needs height")],
    "broken_collection.json": [("/label", "required property missing")],
    "broken_embedded_annos.json": [("/items[0]/items[0]/annotations", "not allowed")],
    "broken_service.json": [
        ("/thumbnail[0]/service", "valid list"),
        ("/items[0]/items[0]/items[0]/body/service", "valid list"),
    ],
    "broken_simple_image.json": [
        ("/provider[0]/logo[0]/id", "required property missing"),
        ("/provider[0]/seeAlso[0]/id", "required property missing"),
        ("/items[0]/id", "required property missing"),
    ],
    "collection_of_canvases.json": [
        ("/items[0]", "only be Collections and Manifests"),
        ("/items[1]", "only be Collections and Manifests"),
    ],
    "non_cc_license.json": [("/rights", "https://en.wikipedia.org/wiki/License")],
    "old_format_label.json": [
        ("/label", "valid dictionary"),
        ("/sequences", "not allowed"),
        ("/items", "required property missing"),
    ],
    "rights_lang_issues.json": [
        ("/label/@none", "@none"),
        *(
            (f"/metadata[{index}]/{side}/@none", "@none")
            for index in range(10)
            for side in ("label", "value")
        ),
        ("/rights", "https://creativecommons.org/"),
        ("/items[0]/label/@none", "@none"),
        ("/items[0]/items[0]/items[0]/body/label/@none", "@none"),
        ("/items[0]", "width and height, or a duration"),
    ],
}


def _minimal_manifest() -> dict[str, Any]:
    return {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": "https://example.org/iiif/m.json",
        "type": "Manifest",
        "label": {"en": ["A manifest"]},
        "items": [
            {
                "id": "https://example.org/iiif/m/canvas/1",
                "type": "Canvas",
                "width": 10,
                "height": 20,
                "items": [
                    {
                        "id": "https://example.org/iiif/m/page/1",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": "https://example.org/iiif/m/annotation/1",
                                "type": "Annotation",
                                "motivation": "painting",
                                "body": {
                                    "id": "https://example.org/image.jpg",
                                    "type": "Image",
                                    "format": "image/jpeg",
                                    "width": 10,
                                    "height": 20,
                                },
                                "target": "https://example.org/iiif/m/canvas/1",
                            }
                        ],
                    }
                ],
            }
        ],
    }


def _problems(document: Any) -> list[tuple[str, str]]:
    with pytest.raises(IiifDocumentError) as caught:
        parse_iiif_document(document)
    return list(caught.value.problems)


def _assert_problem(problems: list[tuple[str, str]], path: str, words: str) -> None:
    assert any(where == path and words in reason for where, reason in problems), problems


def test_the_corpus_holds_the_documented_files() -> None:
    if not IIIF_CORPUS.is_dir():
        pytest.skip(f"IIIF test vectors not present at {IIIF_CORPUS}")
    assert sorted(path.name for path in (IIIF_CORPUS / "valid").glob("*.json")) == sorted(
        VALID_FIXTURES
    )
    assert sorted(path.name for path in (IIIF_CORPUS / "invalid").glob("*.json")) == sorted(
        INVALID_FIXTURES
    )


@pytest.mark.parametrize("name", sorted(VALID_FIXTURES))
def test_valid_documents_parse_as_their_class_and_round_trip(name: str) -> None:
    data = load_fixture("valid", name)
    document = parse_iiif_document(data)
    assert type(document).__name__ == VALID_FIXTURES[name]
    assert document.model_dump(by_alias=True, exclude_none=True) == data


@pytest.mark.parametrize("name", INVALID_FIXTURES)
def test_invalid_documents_are_rejected_for_the_documented_reason(name: str) -> None:
    problems = _problems(load_fixture("invalid", name))
    for path, words in EXPECTED_PROBLEMS[name]:
        _assert_problem(problems, path, words)


def test_the_presentation_2_document_lists_every_fault_upstream_counts() -> None:
    # The validator's own test expects 25 error paths in this file.
    problems = _problems(load_fixture("invalid", "rights_lang_issues.json"))
    assert len(problems) == len(EXPECTED_PROBLEMS["rights_lang_issues.json"]) == 25


def test_the_error_message_lists_paths_and_reasons() -> None:
    with pytest.raises(ValueError, match=r"invalid IIIF Presentation 3\.0 Manifest") as caught:
        parse_iiif_document(load_fixture("invalid", "broken_service.json"))
    message = str(caught.value)
    assert "/thumbnail[0]/service: Input should be a valid list" in message
    assert "/items[0]/items[0]/items[0]/body/service" in message


@pytest.mark.parametrize("name", sorted(VALID_FIXTURES))
def test_parse_manifest_refuses_other_classes_for_their_class(name: str) -> None:
    data = load_fixture("valid", name)
    if VALID_FIXTURES[name] == "Manifest":
        assert isinstance(parse_manifest(data), Manifest)
        return
    with pytest.raises(IiifDocumentError, match="not a Manifest") as caught:
        parse_manifest(data)
    assert caught.value.problems == (
        ("/type", f"a valid IIIF {VALID_FIXTURES[name]}, not a Manifest"),
    )


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "a document is a JSON object, not list"),
        ({"type": "Sequence"}, "'Sequence' is not one of Manifest"),
        ({"id": "https://example.org/x"}, "None is not one of Manifest"),
    ],
)
def test_documents_of_no_known_class_are_refused(document: Any, reason: str) -> None:
    problems = _problems(document)
    assert len(problems) == 1
    assert reason in problems[0][1]


@pytest.mark.parametrize("key", ["en", "de-AT", "zh-Hant", "none"])
def test_language_map_keys_are_bcp47_tags_or_none(key: str) -> None:
    document = _minimal_manifest()
    document["label"] = {key: ["A manifest"]}
    assert parse_manifest(document).label == {key: ["A manifest"]}


@pytest.mark.parametrize("key", ["@none", "", "en_GB", "en GB"])
def test_other_language_map_keys_are_refused(key: str) -> None:
    document = _minimal_manifest()
    document["summary"] = {key: ["text"]}
    _assert_problem(_problems(document), f"/summary/{key}", "is not a BCP47 tag")


def test_language_map_values_are_lists_of_strings() -> None:
    document = _minimal_manifest()
    document["label"] = {"en": "A manifest"}
    _assert_problem(_problems(document), "/label/en", "valid list")


@pytest.mark.parametrize("rights", CANONICAL_RIGHTS)
def test_rights_from_creative_commons_and_rightsstatements_are_accepted(rights: str) -> None:
    document = _minimal_manifest()
    document["rights"] = rights
    assert parse_manifest(document).rights == rights


@pytest.mark.parametrize(
    "rights",
    [
        "https://creativecommons.org/licenses/by/4.0/",
        "https://rightsstatements.org/vocab/InC/1.0/",
        "http://www.europeana.eu/rights/rr-f/",
        "http://rightsstatements.org/page/InC/1.0/",
        "creativecommons.org/licenses/by/4.0/",
    ],
)
def test_rights_in_any_other_form_are_refused(rights: str) -> None:
    document = _minimal_manifest()
    document["rights"] = rights
    _assert_problem(_problems(document), "/rights", "is not a Creative Commons licence")


@pytest.mark.parametrize(
    ("extent", "valid"),
    [
        ({"width": 1, "height": 1}, True),
        ({"duration": 12.5}, True),
        ({"width": 4, "height": 3, "duration": 7}, True),
        ({"width": 4}, False),
        ({"height": 3, "duration": 7}, False),
        ({}, False),
    ],
)
def test_a_canvas_has_width_and_height_together_or_a_duration(
    extent: dict[str, Any], valid: bool
) -> None:
    document = _minimal_manifest()
    canvas = document["items"][0]
    del canvas["width"], canvas["height"]
    canvas.update(extent)
    if valid:
        parsed = parse_manifest(document)
        assert isinstance(parsed.items[0], Canvas)
        assert parsed.model_dump(by_alias=True, exclude_none=True) == document
    else:
        _assert_problem(_problems(document), "/items[0]", "Canvas")


@pytest.mark.parametrize("dimension", [0, -1, 1.5, "10", True])
def test_dimensions_are_positive_integers(dimension: Any) -> None:
    document = _minimal_manifest()
    document["items"][0]["width"] = dimension
    assert any(path == "/items[0]/width" for path, _ in _problems(document))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda document: document.update(rights=None), "/rights"),
        (lambda document: document["items"][0].update(width=None, height=None), "/items[0]"),
        (lambda document: document["items"][0].update(label=None), "/items[0]/label"),
    ],
)
def test_null_is_not_a_value_of_a_typed_property(
    change: Callable[[dict[str, Any]], None], path: str
) -> None:
    document = _minimal_manifest()
    change(document)
    assert any(where == path for where, _ in _problems(document))


def test_a_manifest_needs_id_type_label_and_items() -> None:
    problems = _problems({"type": "Manifest"})
    for field in ("id", "label", "items"):
        _assert_problem(problems, f"/{field}", "required property missing")


def test_a_manifest_takes_only_the_properties_the_specification_defines() -> None:
    document = _minimal_manifest()
    document["required_statement"] = document.pop("label")
    problems = _problems(document)
    _assert_problem(problems, "/required_statement", "not allowed")
    _assert_problem(problems, "/label", "required property missing")


def test_open_classes_keep_extension_properties() -> None:
    document = _minimal_manifest()
    document["items"][0]["x-local"] = {"shelf": "B12"}
    parsed = parse_manifest(document)
    assert parsed.items[0].model_extra == {"x-local": {"shelf": "B12"}}
    assert parsed.model_dump(by_alias=True, exclude_none=True) == document


@pytest.mark.parametrize("field", ["homepage", "seeAlso", "rendering", "partOf", "thumbnail"])
def test_linked_resources_need_an_id(field: str) -> None:
    document = _minimal_manifest()
    document[field] = [{"type": "Text", "label": {"en": ["x"]}}]
    _assert_problem(_problems(document), f"/{field}[0]/id", "required property missing")


def test_provider_and_logo_need_ids_and_types() -> None:
    document = _minimal_manifest()
    document["provider"] = [
        {
            "id": "https://example.org/agent",
            "type": "Agent",
            "label": {"en": ["Museum"]},
            "logo": [{"id": "https://example.org/logo.png"}],
        }
    ]
    _assert_problem(_problems(document), "/provider[0]/logo[0]/type", "required property missing")


def _with_body_service(service: Any) -> dict[str, Any]:
    document = _minimal_manifest()
    document["items"][0]["items"][0]["items"][0]["body"]["service"] = service
    return document


BODY = "/items[0]/items[0]/items[0]/body"


@pytest.mark.parametrize(
    "service",
    [
        [{"id": "https://example.org/image", "type": "ImageService3", "profile": "level1"}],
        [{"@id": "https://example.org/image", "@type": "ImageService2", "profile": "level2"}],
        [
            {
                "id": "https://example.org/probe",
                "type": "AuthProbeService2",
                "service": [{"id": "https://example.org/login", "type": "AuthAccessService2"}],
                "x-anything": [1, 2],
            }
        ],
    ],
)
def test_services_are_lists_of_open_objects(service: list[dict[str, Any]]) -> None:
    document = _with_body_service(service)
    assert parse_manifest(document).model_dump(by_alias=True, exclude_none=True) == document


@pytest.mark.parametrize(
    ("service", "words"),
    [
        ({"id": "https://example.org/image", "type": "ImageService3"}, "valid list"),
        ([{"type": "ImageService3"}], "needs an http id and a type"),
        ([{"id": "urn:x:image", "type": "ImageService3"}], "needs an http id and a type"),
        (
            [
                {
                    "id": "https://example.org/a",
                    "type": "ImageService3",
                    "@id": "https://example.org/a",
                    "@type": "ImageService2",
                }
            ],
            "not both",
        ),
    ],
)
def test_malformed_services_are_refused(service: Any, words: str) -> None:
    problems = _problems(_with_body_service(service))
    assert any(path.startswith(f"{BODY}/service") and words in why for path, why in problems)


def test_an_annotation_page_may_not_carry_annotations() -> None:
    document = _minimal_manifest()
    page = document["items"][0]["items"][0]
    page["annotations"] = [{"id": "https://example.org/p2", "type": "AnnotationPage"}]
    _assert_problem(_problems(document), "/items[0]/items[0]/annotations", "not allowed")


@pytest.mark.parametrize(
    ("item", "valid"),
    [
        ({"id": "https://example.org/m.json", "type": "Manifest"}, True),
        ({"id": "https://example.org/c.json", "type": "Collection", "label": {"en": ["c"]}}, True),
        ({"id": "https://example.org/c.json", "type": "Collection"}, False),
        ({"id": "https://example.org/canvas/1", "type": "Canvas"}, False),
        ({"id": "https://example.org/range/1", "type": "Range", "items": []}, False),
        ({"id": "https://example.org/m.json", "type": "Manifest", "items": []}, False),
    ],
)
def test_a_collection_holds_only_collections_and_manifests(
    item: dict[str, Any], valid: bool
) -> None:
    document = {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": "https://example.org/collection.json",
        "type": "Collection",
        "label": {"en": ["All"]},
        "items": [item],
    }
    if valid:
        assert isinstance(parse_iiif_document(document), Collection)
    else:
        assert any(path.startswith("/items[0]") for path, _ in _problems(document))


def test_bodies_dispatch_on_type() -> None:
    document = _minimal_manifest()
    annotation = document["items"][0]["items"][0]["items"][0]
    annotation["body"] = [
        {"type": "TextualBody", "value": "A harbour", "language": "en"},
        {
            "type": "Choice",
            "items": [
                {"id": "https://example.org/a.mp4", "type": "Video", "duration": 3},
                {"id": "https://example.org/a.mp3", "type": "Sound", "duration": 3},
            ],
        },
        {"id": "https://example.org/a.vtt", "type": "Text", "format": "text/vtt"},
        {"id": "https://example.org/a.json", "type": "Dataset"},
        {"source": "https://example.org/canvas/1", "selector": {"type": "PointSelector"}},
    ]
    parsed = parse_manifest(document)
    body = parsed.items[0].items[0].items[0].body
    assert [type(part).__name__ for part in body] == [
        "TextualBody",
        "Choice",
        "Text",
        "Dataset",
        "SpecificResource",
    ]
    assert parsed.model_dump(by_alias=True, exclude_none=True) == document


def test_a_textual_body_needs_its_value() -> None:
    document = _minimal_manifest()
    document["items"][0]["items"][0]["items"][0]["body"] = {"type": "TextualBody"}
    _assert_problem(_problems(document), f"{BODY}/value", "required property missing")


def test_documents_are_read_by_their_json_names_only() -> None:
    document = copy.deepcopy(_minimal_manifest())
    document["context"] = document.pop("@context")
    _assert_problem(_problems(document), "/context", "not allowed")


def test_the_service_model_takes_both_spellings() -> None:
    legacy = Service.model_validate({"@id": "https://example.org/a", "@type": "ImageService2"})
    assert legacy.model_dump(by_alias=True, exclude_none=True) == {
        "@id": "https://example.org/a",
        "@type": "ImageService2",
    }


def test_json_paths_leave_out_union_members() -> None:
    assert json_path(("items", 0, "body", "<Image>", "service")) == "/items[0]/body/service"
    assert json_path(("label", "@none", "[key]")) == "/label/@none"
    assert json_path(()) == "/"
