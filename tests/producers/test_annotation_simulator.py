"""The annotation simulator: pure generation and pacing, then runs against the real broker
(known targets learnt from the records topic, late arrivals, refresh, keys, rate)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from producer_layouts import producer_layout
from topic_reader import TopicReader

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators import annotation_simulator
from heritage.producers.simulators.annotation_simulator import (
    ANNOTATION_FIELDS,
    AnnotationRejection,
    AnnotationRunResult,
    annotation_id,
    annotation_problems,
    annotation_record,
    annotations_due,
    dead_letter_annotation,
    make_annotation,
    simulate_annotations,
    sort_annotations,
    targets_unknown,
    unseen_record_id,
)
from heritage.record_model import SourceRecord, envelope_for, europeana_record_id
from heritage.settings import Settings
from heritage.source_rejections import SourceRejection

CREATED = "2026-03-01T10:00:00.000000Z"


def test_annotation_ids_are_deterministic_and_namespaced() -> None:
    content = {"sequence": 0, "target_record_id": "europeana:/1/a", "kind": "tag", "body": "x"}
    first = annotation_id(content, seed=1)
    assert first == annotation_id(dict(reversed(content.items())), seed=1)
    assert first != annotation_id(content, seed=2)
    assert first != annotation_id({**content, "body": "y"}, seed=1)
    assert first.startswith("annotation:")
    assert uuid.UUID(first.removeprefix("annotation:")).version == 5


def test_same_seed_and_targets_make_the_same_annotations() -> None:
    def run(seed: int) -> list[dict[str, object]]:
        rng = random.Random(seed)
        return [make_annotation(rng, seed, n, f"europeana:/1/r{n % 7}", CREATED) for n in range(50)]

    assert run(3) == run(3)
    assert run(3) != run(4)
    ids = [a["annotation_id"] for a in run(3)]
    assert len(set(ids)) == 50  # the sequence keeps repeated tags apart


def test_annotation_payload_shape_and_languages() -> None:
    rng = random.Random(11)
    made = [make_annotation(rng, 11, n, "europeana:/1/x", CREATED) for n in range(400)]
    assert all(tuple(a) == ANNOTATION_FIELDS for a in made)
    kinds = {a["kind"] for a in made}
    assert kinds == {"tag", "comment"}
    comments = sum(a["kind"] == "comment" for a in made)
    assert 0.2 < comments / len(made) < 0.4
    bodies = {a["body"] for a in made}
    # Multilingual: accented and non-Latin-1 text among them, and several users.
    assert any(ch in body for body in bodies for ch in "éöäąłñ¿")
    assert len({a["user"] for a in made}) > 5
    assert all(isinstance(a["body"], str) and a["body"] for a in made)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.1, 1 / 3, 1.0])
def test_unknown_targets_are_an_exact_evenly_spread_fraction(fraction: float) -> None:
    flags = [targets_unknown(n, fraction) for n in range(300)]
    assert sum(flags) == int(300 * fraction + 1e-9)
    if 0 < fraction < 1:
        first_half = sum(flags[:150])
        assert abs(first_half - sum(flags[150:])) <= 1


def test_unseen_record_ids_are_valid_europeana_ids_not_yet_known() -> None:
    rng = random.Random(5)
    known = {unseen_record_id(random.Random(5), set())}
    for _ in range(100):
        record_id = unseen_record_id(rng, known)
        assert record_id not in known
        assert europeana_record_id(record_id.removeprefix("europeana:")) == record_id


def test_pacing_releases_annotation_k_at_k_over_rate() -> None:
    assert annotations_due(0.0, 10, 0) == 1
    assert annotations_due(0.05, 10, 1) == 0
    assert annotations_due(0.1, 10, 1) == 1
    assert annotations_due(1.0, 10, 3) == 8  # behind: catch up in one batch
    assert annotations_due(0.5, 10, 9) == 0


def test_bad_arguments_are_refused_before_any_io(offline_settings: Settings) -> None:
    offline_layout = LakehouseLayout.default(offline_settings)
    with pytest.raises(ValueError, match="count or a duration"):
        simulate_annotations(offline_settings, offline_layout, rate=5, count=None)
    with pytest.raises(ValueError, match="rate"):
        simulate_annotations(offline_settings, offline_layout, rate=0, count=5)
    with pytest.raises(ValueError, match="unknown_fraction"):
        simulate_annotations(
            offline_settings, offline_layout, rate=5, count=5, unknown_fraction=1.5
        )


# --- against the real broker ----------------------------------------------------------------


def publish_records(settings: Settings, topic: str, ledger: Path, ids: list[str]) -> None:
    producer = create_producer(settings)
    book = PublishLedger(ledger)
    try:
        publish_envelopes(
            producer,
            book,
            topic,
            envelopes_from("europeana", (SourceRecord(i, {"id": i[10:]}) for i in ids)),
            progress=False,
        )
    finally:
        producer.close()
        book.close()


@pytest.fixture
def topics(live_settings: Settings) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    records, annotations = f"heritage.test.records.{suffix}", f"heritage.test.annotations.{suffix}"
    ensure_topics(live_settings, (records, annotations))
    return records, annotations


@pytest.mark.integration
def test_simulator_publishes_the_count_keyed_and_targeting_known_records(
    live_settings: Settings, read_topic: TopicReader, topics: tuple[str, str], tmp_path: Path
) -> None:
    records_topic, annotations_topic = topics
    known = [f"europeana:/2021672/rijksmuseum_{n:07d}" for n in range(40)]
    publish_records(live_settings, records_topic, tmp_path / "records.sqlite", known)

    result = simulate_annotations(
        live_settings,
        producer_layout(
            live_settings, tmp_path, records_topic, annotations_topic=annotations_topic
        ),
        rate=200,
        count=100,
        seed=3,
        unknown_fraction=0.1,
        group_id=f"annotation-test-{uuid.uuid4().hex[:6]}",
        progress=False,
    )

    assert (result.published, result.skipped, result.annotations) == (100, 0, 100)
    assert result.known_record_ids == 40
    assert result.seconds >= 99 / 200 * 0.95  # paced at the rate, not faster
    messages = read_topic(annotations_topic)
    assert len(messages) == 100
    payloads = [envelope["payload"] for _key, envelope in messages]
    for key, envelope in messages:
        payload = envelope["payload"]
        assert key == envelope["record_id"] == payload["annotation_id"]
        assert envelope["source"] == "annotations"
        assert tuple(payload) == ANNOTATION_FIELDS
        created = datetime.fromisoformat(payload["created"].replace("Z", "+00:00"))
        assert created.utcoffset() == timedelta(0)
        assert abs(datetime.now(tz=UTC) - created) < timedelta(minutes=5)
    unknown = [p["target_record_id"] for p in payloads if p["target_record_id"] not in known]
    assert len(unknown) == 10
    assert sorted(unknown) == sorted(result.unseen_targets)
    assert len({p["target_record_id"] for p in payloads} & set(known)) > 20
    assert len({key for key, _ in messages}) == 100


@pytest.mark.integration
def test_simulator_learns_records_that_arrive_while_it_runs(
    live_settings: Settings, read_topic: TopicReader, topics: tuple[str, str], tmp_path: Path
) -> None:
    records_topic, annotations_topic = topics
    early = [f"europeana:/2048128/nationalmuseum_{n:07d}" for n in range(10)]
    late = [f"europeana:/2058611/museo_{n:07d}" for n in range(30)]
    publish_records(live_settings, records_topic, tmp_path / "records.sqlite", early)
    outcome: list[AnnotationRunResult] = []

    def run() -> None:
        outcome.append(
            simulate_annotations(
                live_settings,
                producer_layout(
                    live_settings, tmp_path, records_topic, annotations_topic=annotations_topic
                ),
                rate=40,
                count=None,
                duration_s=5.0,
                seed=8,
                unknown_fraction=0.0,
                group_id=f"annotation-test-{uuid.uuid4().hex[:6]}",
                refresh_interval_s=0.3,
                progress=False,
            )
        )

    simulator = threading.Thread(target=run)
    simulator.start()
    time.sleep(1.5)
    publish_records(live_settings, records_topic, tmp_path / "records.sqlite", late)
    simulator.join(timeout=60)
    assert outcome, "the simulator did not finish"
    result = outcome[0]
    assert result.known_record_ids == 40
    assert 150 <= result.annotations <= 205  # about 5 s at 40/s
    targets = [e["payload"]["target_record_id"] for _k, e in read_topic(annotations_topic)]
    assert len(targets) == result.annotations
    assert set(targets) <= set(early) | set(late)
    assert set(targets) & set(late), "records published mid-run never became targets"


# --- hostile annotations: dead-lettered with a reason, never a crash -------------------------


def good_annotation() -> dict[str, Any]:
    return make_annotation(random.Random(2), 2, 0, "europeana:/90402/SK_A_2344", CREATED)


def nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


def hostile_annotations() -> dict[str, Any]:
    surrogate = {**good_annotation(), "body": "Prachtig \ud83d licht"}
    deep = {**good_annotation(), "body": nested(100_000)}
    wrong_type = {**good_annotation(), "created": 1733400000}
    missing = {k: v for k, v in good_annotation().items() if k != "user"}
    return {
        "surrogate": surrogate,
        "deep": deep,
        "wrong_type": wrong_type,
        "missing": missing,
        "not_an_object": "tag:portrait",
        "id_of_wrong_type": {**good_annotation(), "annotation_id": ["annotation:1"]},
    }


def test_a_good_annotation_has_no_problems() -> None:
    assert annotation_problems(good_annotation()) == []


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("surrogate", ["body", "surrogate", "\\ud83d"]),
        ("deep", ["body", "a list", "expected a string", "levels deep"]),
        ("wrong_type", ["created", "a number", "expected a string"]),
        ("missing", ["user", "missing"]),
        ("not_an_object", ["a string", "expected a JSON object"]),
        ("id_of_wrong_type", ["annotation_id", "a list", "expected a string"]),
    ],
)
def test_a_hostile_annotation_is_dead_lettered_with_its_reason(kind: str, words: list[str]) -> None:
    annotation = hostile_annotations()[kind]
    problems = annotation_problems(annotation)
    text = " ".join(problems)
    assert all(word in text for word in words), problems
    if isinstance(annotation, dict) and isinstance(annotation.get("annotation_id"), str):
        assert annotation["annotation_id"] in text
    dead = dead_letter_annotation(annotation, problems)
    wire = envelope_for("annotations", dead, "run-1", CREATED).to_json().encode("utf-8")
    payload = json.loads(wire)["payload"]
    assert payload["reasons"] == problems and payload["stage"] == "annotation-simulator"
    assert len(payload["raw"]) <= 64 * 1024
    dead.record_id.encode("utf-8")


def test_sorting_a_batch_keeps_the_good_annotations_in_order() -> None:
    batch = [good_annotation(), *hostile_annotations().values(), good_annotation()]
    batch[-1] = {**batch[-1], "annotation_id": "annotation:second"}
    sorted_batch = sort_annotations(batch)
    assert [r.record_id for r in sorted_batch.records] == [
        batch[0]["annotation_id"],
        "annotation:second",
    ]
    assert len(sorted_batch.dead_letters) == 6
    for record in sorted_batch.records:
        envelope_for("annotations", record, "c", CREATED).to_json().encode("utf-8")


@pytest.mark.integration
def test_hostile_annotations_go_to_the_dead_letters_and_the_run_goes_on(
    live_settings: Settings,
    read_topic: TopicReader,
    topics: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records_topic, annotations_topic = topics
    dlq_topic = f"heritage.test.dlq.{uuid.uuid4().hex[:8]}"
    publish_records(
        live_settings, records_topic, tmp_path / "records.sqlite", ["europeana:/90402/SK_A_1"]
    )
    hostile = list(hostile_annotations().values())
    made = annotation_simulator.make_annotation

    def sometimes_hostile(
        rng: random.Random, seed: int, sequence: int, target: str, created: str
    ) -> Any:
        annotation = made(rng, seed, sequence, target, created)
        return hostile[sequence // 2] if sequence % 2 else annotation

    monkeypatch.setattr(annotation_simulator, "make_annotation", sometimes_hostile)
    layout = producer_layout(
        live_settings, tmp_path, records_topic, dlq_topic, annotations_topic=annotations_topic
    )
    result = simulate_annotations(
        live_settings,
        layout,
        rate=500,
        count=12,
        seed=4,
        unknown_fraction=0.0,
        group_id=f"annotation-test-{uuid.uuid4().hex[:6]}",
        max_batch=5,
        progress=False,
    )
    assert (result.published, result.rejected, result.annotations) == (6, 6, 12)
    assert len(read_topic(annotations_topic)) == 6
    dead = read_topic(dlq_topic)
    assert len(dead) == 6
    reasons = " ".join(r for _key, envelope in dead for r in envelope["payload"]["reasons"])
    assert "surrogate" in reasons and "levels deep" in reasons and "missing" in reasons


def test_a_hostile_annotation_is_a_rejection_naming_it() -> None:
    for annotation in hostile_annotations().values():
        with pytest.raises(AnnotationRejection) as refused:
            annotation_record(annotation)
        assert isinstance(refused.value, SourceRejection)
        assert "annotation" in str(refused.value) and refused.value.reasons
    good = good_annotation()
    assert annotation_record(good) == SourceRecord(good["annotation_id"], good)
