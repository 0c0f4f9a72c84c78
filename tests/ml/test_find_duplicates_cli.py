"""`heritage ml find-duplicates` on a folder of generated images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from heritage.cli import main


def _scene(seed: int) -> Image.Image:
    """A textured picture unlike any other seed's: random blocks, smoothly upscaled."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((320, 240), Image.Resampling.BICUBIC)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for seed in range(4):
        _scene(seed).save(tmp_path / f"scene{seed}.png")
    _scene(0).resize((160, 120), Image.Resampling.LANCZOS).save(
        tmp_path / "scene0_small.jpg", quality=80
    )
    ImageOps.grayscale(_scene(1)).save(tmp_path / "scene1_gray.jpg", quality=90)
    nested = tmp_path / "more"
    nested.mkdir()
    _scene(2).save(nested / "scene2_copy.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "notes.txt").write_text("not an image, ignored by suffix")
    return tmp_path


def test_hash_method_groups_copies_and_reports_broken_files(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ml", "find-duplicates", str(folder), "--method", "hash", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    groups = {group["canonical_id"]: group["members"] for group in report["groups"]}
    assert groups == {
        str(folder / "scene0.png"): [str(folder / "scene0.png"), str(folder / "scene0_small.jpg")],
        str(folder / "scene1.png"): [str(folder / "scene1.png"), str(folder / "scene1_gray.jpg")],
    }
    assert report["images"] == 6
    assert [skipped["path"] for skipped in report["skipped"]] == [str(folder / "broken.jpg")]
    assert "not a decodable image" in report["skipped"][0]["reason"]
    for group in report["groups"]:
        assert group["pairs"] and all(pair["method"] == "hash" for pair in group["pairs"])


def test_recursive_finds_nested_copies(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ml", "find-duplicates", str(folder), "--recursive", "--method", "hash"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("7 images, 3 duplicate groups, 1 skipped (method hash, encoder none)")
    assert str(folder / "more" / "scene2_copy.png") in text
    assert f"skipped {folder / 'broken.jpg'}: not a decodable image" in text


def test_combined_method_runs_the_encoder(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERITAGE_ML_ENCODER", "tiny")
    # A random model finds every pair similar: only near-identical vectors count here.
    thresholds = folder / "tiny.toml"
    thresholds.write_text(
        "[default]\nhash_max_distance = 8\ndhash_max_distance = 16\n"
        "cosine_min = 0.9999\nhash_confirm_cosine = -1.0\n"
    )
    files = [
        str(folder / "scene0.png"),
        str(folder / "scene0_small.jpg"),
        str(folder / "scene3.png"),
    ]
    argv = ["ml", "find-duplicates", *files, "--json", "--thresholds", str(thresholds)]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["encoder"] == "open_clip:tiny-random"
    assert report["images"] == 3
    members = [group["members"] for group in report["groups"]]
    assert [str(folder / "scene0.png"), str(folder / "scene0_small.jpg")] in members
    assert all(str(folder / "scene3.png") not in group for group in members)
    pair = next(
        p for g in report["groups"] for p in g["pairs"] if g["canonical_id"].endswith("scene0.png")
    )
    assert pair["cosine"] is not None and pair["hash_distance"] is not None


def test_missing_path_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ml", "find-duplicates", str(tmp_path / "absent"), "--method", "hash"]) == 2
    assert "absent: no such file or folder" in capsys.readouterr().err


def test_decompression_bomb_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _scene(5).save(tmp_path / "big.png")
    monkeypatch.setenv("HERITAGE_IMAGE_MAX_PIXELS", "10000")
    assert main(["ml", "find-duplicates", str(tmp_path), "--method", "hash", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 0
    assert "over the limit of 10000" in report["skipped"][0]["reason"]


def test_embedding_matches_are_verified_geometrically(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pair looks alike to the random model; only the framed copy keeps the scene's
    keypoints in place, so only it joins the scene."""
    monkeypatch.setenv("HERITAGE_ML_ENCODER", "tiny")
    framed = ImageOps.expand(_scene(0), border=30, fill=(245, 240, 228))
    framed.save(folder / "scene0_framed.jpg", quality=90)
    thresholds = folder / "verified.toml"
    thresholds.write_text(
        "[default]\nhash_max_distance = 0\ndhash_max_distance = 0\ncosine_min = -1.0\n"
        "keypoint_min_support = 8\nkeypoint_cosine_min = -1.0\n"
    )
    files = [str(folder / name) for name in ("scene0.png", "scene0_framed.jpg", "scene3.png")]
    argv = ["ml", "find-duplicates", *files, "--json", "--thresholds", str(thresholds)]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [group["members"] for group in report["groups"]] == [files[:2]]
    assert report["groups"][0]["pairs"][0]["method"] == "embedding"
    assert report["seconds"]["keypoints"] > 0
