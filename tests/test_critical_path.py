"""What keeps the critical path short without losing anything: the conversation starts beside
round 1, the evaluator's copy reuses the generator's decode, and every image is still on disk
and journaled before it is evaluated."""

from __future__ import annotations

import contextlib
import io
import json
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeOpenAIServer, RecordedRequest
from helpers import run_cli
from images import ring_photo
from PIL import Image
from scripted_providers import run_scripted
from test_candidates import CountingGenerator, EchoPrompter, Tracker

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import ProviderError, RunFailed
from agentic_image_gen.core.types import (
    Evaluation,
    EvaluationRequest,
    GenerationRequest,
    ImageSettings,
)
from agentic_image_gen.inputs.imaging import checkerboard, vision_copy
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.evaluator import evaluator_preview
from agentic_image_gen.providers.registry import Registry


def ended(request: RecordedRequest) -> float:
    return request.started + request.seconds


def test_the_conversation_starts_beside_round_one(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.latency.update(generation=0.3)
    openai_env.script_scores([40, 90])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "85")
    assert code == 0
    (conversation,) = openai_env.requests_to("/v1/conversations")
    first_generation = openai_env.generation_requests()[0]
    assert ended(conversation) < ended(first_generation)  # not waited for after round 1
    assert {r.body["conversation"] for r in openai_env.refinement_requests()} == {
        output["thread_id"]
    }


def test_no_conversation_for_a_single_round_and_none_reported_without_refinement(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([95])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--max-iterations", "1")
    assert code == 0
    assert openai_env.requests_to("/v1/conversations") == []
    # A run that could have refined, but reached the threshold at once, reports no thread.
    openai_env.script_scores([95])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path))
    assert code == 0
    assert output["thread_id"] is None
    assert output["iterations"] == 1
    # ... and the conversation it started beside round 1 is deleted, leaving nothing behind.
    (started,) = openai_env.requests_to("/v1/conversations")
    assert openai_env.deleted_conversations == [started.response["id"]]
    assert openai_env.conversation_ids == set()


def test_without_a_free_slot_the_conversation_waits_for_the_first_refinement(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40, 90])
    code, _, _ = run_cli(
        capsys, "ring", "--out", str(tmp_path), "--threshold", "85", "--max-concurrency", "1"
    )
    assert code == 0
    (conversation,) = openai_env.requests_to("/v1/conversations")
    (first_evaluation, _) = openai_env.evaluation_requests()
    assert conversation.started > ended(first_evaluation)


def test_a_failed_conversation_fails_the_first_refinement_and_keeps_the_image(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40, 90])
    openai_env.script_faults([{"status": 400, "path": "/v1/conversations"}])
    code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "85")
    assert code == 5
    assert "HTTP 400 while starting the prompter's conversation" in err
    assert output["score_history"] == [40]
    assert Image.open(output["image_history"][0]).format == "PNG"
    assert openai_env.refinement_requests() == []
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["status"] == "failed"
    assert journal["result"]["iterations"][0]["evaluation"]["score"] == 40


class FailingEvaluator:
    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        raise ProviderError("the evaluator is down")


async def test_an_evaluation_that_fails_at_once_still_leaves_the_image_journaled(
    tmp_path: Path,
) -> None:
    """The image is on disk and in the journal before its evaluation starts."""
    config = RunConfig(prompt="ring", out_dir=tmp_path)
    with pytest.raises(RunFailed, match="the evaluator is down") as failed:
        await run_scripted(config, CountingGenerator(Tracker()), FailingEvaluator(), EchoPrompter())
    (iteration,) = failed.value.partial.iterations
    assert iteration.evaluation is None
    assert Image.open(iteration.image_path).size == (32, 32)
    run_dir = Path(failed.value.partial.run_dir)
    journal = json.loads((run_dir / "run.json").read_text())
    stored = [it["image_path"] for it in journal["result"]["iterations"]]  # relative to the folder
    assert [str(run_dir / path) for path in stored] == [iteration.image_path]


async def test_the_evaluator_copy_reuses_the_generators_decode(
    openai_env: FakeOpenAIServer, tmp_path: Path
) -> None:
    config = RunConfig(prompt="ring", out_dir=tmp_path)
    async with AsyncExitStack() as stack:
        context = ProviderContext(config=config, exit_stack=stack)
        generator = await Registry.installed().create("generator", "openai", context)
        image = await generator.generate_image(GenerationRequest("ring", ImageSettings()))
    assert image.pixels is not None
    assert image.pixels.size == (image.width, image.height) == (1024, 1024)
    assert image.pixels.tobytes() == Image.open(io.BytesIO(image.data)).tobytes()
    from_pixels = await evaluator_preview(image)
    from_bytes = await evaluator_preview(replace(image, pixels=None))
    assert from_pixels == from_bytes
    assert Image.open(io.BytesIO(from_pixels)).format == "JPEG"


def test_a_reference_copy_decodes_a_jpeg_at_a_reduced_scale() -> None:
    """References are checked in full when loaded; their copies come from a DCT-scaled
    decode, which must look like a full decode then resize."""
    data = ring_photo(1600, 1200)
    copy = Image.open(io.BytesIO(vision_copy(data, 768, 768))).convert("RGB")
    assert copy.size == (768, 576)
    full = Image.open(io.BytesIO(data)).convert("RGB").resize((768, 576), Image.Resampling.LANCZOS)
    difference = sum(abs(a - b) for a, b in zip(copy.tobytes(), full.tobytes(), strict=True)) / len(
        full.tobytes()
    )
    assert difference < 3.0


def test_transparency_is_drawn_over_the_checkerboard_with_soft_edges_kept() -> None:
    alpha = np.tile(np.linspace(0, 255, 256).astype(np.uint8), (64, 1))
    colour = np.zeros((64, 256, 3), np.uint8)
    colour[..., 0] = 200
    image = Image.fromarray(np.dstack([colour, alpha]), "RGBA")
    copy = np.asarray(Image.open(io.BytesIO(vision_copy(image, 1024, 1536, quality=100))))
    board = np.asarray(checkerboard(256, 64), np.float64)
    weight = alpha[..., None] / 255.0
    expected = colour * weight + board * (1 - weight)
    assert np.abs(copy - expected).mean() < 1.5
    assert copy[:, 0].min() >= 200  # fully transparent: the light checkerboard
    assert abs(int(copy[32, 255, 0]) - 200) <= 3 and copy[32, 255, 1] <= 8  # opaque red


@pytest.mark.parametrize(
    ("ending", "deleted"),
    [(None, True), (ProviderError("down"), True), (KeyboardInterrupt(), False)],
)
async def test_an_unused_conversation_is_deleted_unless_the_run_was_interrupted(
    openai_env: FakeOpenAIServer, tmp_path: Path, ending: BaseException | None, deleted: bool
) -> None:
    config = RunConfig(prompt="ring", out_dir=tmp_path)
    with contextlib.suppress(ProviderError, KeyboardInterrupt):
        async with AsyncExitStack() as stack:
            context = ProviderContext(config=config, exit_stack=stack)
            prompter = await Registry.installed().create("prompter", "openai", context)
            await prompter.prepare()
            if ending is not None:
                raise ending
    (started,) = openai_env.requests_to("/v1/conversations")
    assert openai_env.deleted_conversations == ([started.response["id"]] if deleted else [])
    assert all(r.status == 200 for r in openai_env.requests)


async def test_a_resumed_runs_conversation_is_never_deleted(
    openai_env: FakeOpenAIServer, tmp_path: Path
) -> None:
    config = RunConfig(prompt="ring", out_dir=tmp_path)
    async with AsyncExitStack() as stack:
        context = ProviderContext(config=config, exit_stack=stack, conversation_id="conv_kept")
        prompter = await Registry.installed().create("prompter", "openai", context)
        await prompter.prepare()
    assert prompter.conversation_id == "conv_kept"
    assert openai_env.requests == []
