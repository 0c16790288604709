"""``--lock-product``: the generator gets the product in place and a mask protecting it; the
fake paints over everything, and the saved image still holds the product's exact pixels."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeOpenAIServer
from helpers import input_images, run_cli
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "ring.jpg"
SAMPLE_BYTES = SAMPLE.read_bytes()


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"), np.int16)


@pytest.mark.parametrize("extra", [[], ["--no-store"]])
def test_a_locked_product_keeps_its_exact_pixels_whatever_the_model_paints(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
) -> None:
    openai_env.script_scores([60, 70, 80])
    code, output, err = run_cli(
        capsys,
        "18k gold ring on a marble table",
        "--refs",
        str(SAMPLE),
        "--lock-product",
        "--background",
        "opaque",
        "--out",
        str(tmp_path),
        "--threshold",
        "99",
        "--evaluator",
        "rubric",
        "--segmenter",
        "classical",
        *extra,
    )
    assert code == 0, err
    uploads = dict(openai_env.uploads)
    generations = [r.body for r in openai_env.generation_requests()]
    assert len(generations) == 3
    canvas = None
    for number, body in enumerate(generations):
        tool = body["tools"][0]
        assert tool["action"] == "edit"
        mask = _decoded(uploads[tool["input_image_mask"]["file_id"]])
        base = _decoded(uploads[input_images(body)[0]["file_id"]])
        if number == 0:
            canvas = base
            # The mask protects (opaque) exactly where the product is, and only there.
            product = canvas[..., 3] > 127
            assert (mask[..., 3][product] == 255).all()
            assert (mask[..., 3] == 0).mean() > 0.5
        assert "product itself is fixed" in body["input"][0]["content"][0]["text"]
    assert canvas is not None
    product = canvas[..., 3] == 255
    for path in output["image_history"]:
        saved = _decoded(Path(path).read_bytes())
        # The fake painted noise over the whole frame; the product's pixels are the canvas's.
        assert np.abs(saved[..., :3][product] - canvas[..., :3][product]).max() <= 1
        assert np.abs(saved[..., :3][~product] - 255).mean() > 5  # the scene is the model's
    for figure in output["fidelity_history"]:
        assert figure["ssim"] >= 0.95 and figure["delta_e"] <= 2.0, figure


def test_without_the_lock_the_fidelity_figure_shows_the_drift(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([60])
    code, output, err = run_cli(
        capsys,
        "gold ring",
        "--refs",
        str(SAMPLE),
        "--max-iterations",
        "1",
        "--background",
        "opaque",
        "--out",
        str(tmp_path / "runs"),
        "--evaluator",
        "rubric",
        "--segmenter",
        "classical",
    )
    assert code == 0, err
    (figure,) = output["fidelity_history"]
    # The fake draws no ring at all: the figure says so (measured 0.65 / 68 / 0.47).
    assert figure is not None, "a busy scene is measured through the segmenter"
    assert figure["ssim"] < 0.9 and figure["delta_e"] > 10 and figure["shape_iou"] < 0.8, figure


def test_lock_product_needs_a_reference(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "ring", "--lock-product", "--out", str(tmp_path))
    assert code == 2
    assert "--lock-product needs a reference photo of the product in --refs" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # no run folder was made


def test_a_studio_run_locked_keeps_the_products_pixels_wherever_it_frames_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The studio frames the product itself (as shot in round 1, then as the prompt says):
    its fidelity is measured where it put the product, not where a scene painter's would be."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, output, err = run_cli(
        capsys,
        "18k yellow gold ring",
        "--refs",
        str(SAMPLE),
        "--lock-product",
        "--max-iterations",
        "3",
        "--patience",
        "0",
        "--threshold",
        "100",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    # Round 2 framed it as the critique asked; what is left (exposure, halo, sharpness) is a
    # retouch the lock forbids, so the critique asks for nothing more and the run stops.
    assert len(output["fidelity_history"]) == 2 and output["stop_reason"] == "plateau"
    for figure in output["fidelity_history"]:  # measured: 0.97-0.99 / 1.1-2.0
        assert figure["ssim"] >= 0.93 and figure["delta_e"] <= 3.0, figure


def test_a_locked_turn_asks_for_the_canvas_size_not_auto(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--size auto`` with a locked product: the canvas and the mask are 1024x1024, so the
    image must be too; a model free to choose 1536x1024 would be stretched onto them."""
    openai_env.auto_size = "1536x1024"  # what this fake's model picks for "auto"
    openai_env.script_scores([60, 70])
    code, output, err = run_cli(
        capsys, "18k gold ring on a marble table", "--refs", str(SAMPLE), "--lock-product",
        "--size", "auto", "--background", "opaque", "--max-iterations", "2",
        "--threshold", "99", "--out", str(tmp_path), "--evaluator", "rubric",
        "--segmenter", "classical",
    )
    assert code == 0, err
    uploads = dict(openai_env.uploads)
    generations = openai_env.generation_requests()
    assert len(generations) == 2
    for generation in generations:
        tool = generation.body["tools"][0]
        canvas = Image.open(io.BytesIO(uploads[tool["input_image_mask"]["file_id"]]))
        assert tool["size"] == "{}x{}".format(*canvas.size) == "1024x1024"
        made = generation.response["output"][-1]["result"]
        assert Image.open(io.BytesIO(base64.b64decode(made))).size == canvas.size
    for path in output["image_history"]:
        assert Image.open(path).size == (1024, 1024)


def test_a_locked_turn_sends_its_base_first_and_no_stored_context(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Stored mode: round 2 edits round 1's best (composited) under the mask. With
    ``previous_response_id`` the mask would apply to the context's first image (the round-1
    canvas) and the references would be billed twice; so no stored context, the base first."""
    openai_env.script_scores([60, 70])
    code, output, err = run_cli(
        capsys, "18k gold ring on a marble table", "--refs", str(SAMPLE), "--lock-product",
        "--background", "opaque", "--max-iterations", "2", "--threshold", "99",
        "--out", str(tmp_path), "--evaluator", "rubric", "--segmenter", "classical",
    )
    assert code == 0, err
    assert output["continuation"] == "stored"
    uploads = dict(openai_env.uploads)
    first, second = (r.body for r in openai_env.generation_requests())
    assert "previous_response_id" not in first and "previous_response_id" not in second
    base, *references = input_images(second)
    assert uploads[base["file_id"]] == Path(output["image_history"][0]).read_bytes()
    assert [uploads[part["file_id"]] for part in references] == [SAMPLE_BYTES]
    assert second["tools"][0]["action"] == "edit"
