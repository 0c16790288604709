"""Rounds of N candidates: concurrency, continuation from the round's best, budgets."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from PIL import Image
from scripted_providers import FromContext, run_scripted

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import RunFailed
from agentic_image_gen.core.types import (
    Evaluation,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    Iteration,
    OutputFormat,
)
from agentic_image_gen.core.usage import CallRecord
from agentic_image_gen.providers.base import ProviderContext


def test_each_round_makes_n_candidates_from_the_previous_best(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40, 70, 55, 60, 65, 80])
    code, output, _ = run_cli(
        capsys,
        "ring",
        "--out",
        str(tmp_path),
        "--candidates",
        "3",
        "--max-iterations",
        "2",
        "--threshold",
        "99",
    )
    assert code == 0
    assert output["iterations"] == 6
    assert [r["iterations"] for r in output["rounds"]] == [[1, 2, 3], [4, 5, 6]]
    first_round = output["rounds"][0]
    best_of_first = first_round["best_iteration"]
    assert first_round["scores"][best_of_first - 1] == max(s for s in first_round["scores"])
    generations = [r.body for r in openai_env.generation_requests()]
    assert all("previous_response_id" not in body for body in generations[:3])
    continued = {body["previous_response_id"] for body in generations[3:]}
    assert continued == {output["response_ids"][best_of_first - 1]}
    assert len({body["input"][0]["content"][0]["text"] for body in generations[3:]}) == 1
    assert len(openai_env.refinement_requests()) == 1
    assert output["final_score"] == max(output["score_history"])
    assert len(set(output["image_history"])) == 6
    for path in output["image_history"]:
        assert Path(path).is_file()


def test_budget_stops_before_a_round_that_would_overspend(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([10, 20, 30, 40, 50])
    code, output, _ = run_cli(
        capsys,
        "ring",
        "--out",
        str(tmp_path),
        "--max-iterations",
        "5",
        "--max-cost",
        "0.40",
        "--quality",
        "high",
        "--threshold",
        "99",
    )
    assert code == 0
    assert output["stop_reason"] == "budget"
    usage = output["usage"]
    assert usage["images"] == output["iterations"] == 2
    assert usage["cost_usd"] <= 0.40
    assert usage["unpriced_calls"] == 0
    assert usage["calls"] == len(openai_env.requests)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--max-cost", "0.10"), "one image at high quality, 1024x1024, cost about 0.166 USD"),
        (
            ("--max-cost", "0.10", "--quality", "medium", "--candidates", "3"),
            "3 images at medium quality, 1024x1024, cost about 0.127 USD",
        ),
    ],
)
def test_a_budget_below_one_round_is_refused_before_anything_is_spent(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: tuple[str, ...],
    message: str,
) -> None:
    code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path), *extra)
    assert code == 9  # BudgetExhausted
    assert output == {}
    assert err.count("\n") == 1 and "--max-cost 0.1 USD cannot pay for one round" in err
    assert message in err
    assert openai_env.requests == []
    assert list(tmp_path.iterdir()) == []  # no run folder either
    # The same budget pays for one round at a cheaper quality.
    openai_env.script_scores([95])
    code, output, _ = run_cli(
        capsys, "ring", "--out", str(tmp_path), "--max-cost", "0.10", "--quality", "low"
    )
    assert code == 0 and output["usage"]["cost_usd"] <= 0.10


def test_price_file_overrides_the_table(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    image_tokens = {"input": 0, "output": 0, "image_output": 250.0}  # USD per 1M image tokens
    table = {
        "images": {"gpt-image-2.5-sunburst": {"high": 1.0}},  # the estimate before the call
        "tokens": {"gpt-image-2.5-sunburst": image_tokens},  # the cost of the reported usage
    }
    prices.write_text(json.dumps(table))
    openai_env.script_scores([95])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--prices", str(prices))
    assert code == 0
    usage = output["usage"]
    assert usage["estimated_usd"] == 1.0
    # 4160 image tokens (the fake's high quality at 1024x1024) at 250 USD per million: 1.04,
    # plus the text models' few tokens.
    assert usage["image_output_tokens"] == 4160
    assert 1.04 <= usage["cost_usd"] < 1.05


class Tracker:
    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    async def hold(self, seconds: float) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(seconds)
        self.in_flight -= 1


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (seed * 40 % 256, 90, 120)).save(out, "PNG")
    return out.getvalue()


class CountingGenerator:
    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.contexts: list[str | None] = []
        self.made = 0

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        self.contexts.append(request.context)
        await self.tracker.hold(0.02)
        self.made += 1
        return GeneratedImage(png(self.made), OutputFormat.PNG, 32, 32, f"ctx-{self.made}")


class ScriptedEvaluator:
    def __init__(self, tracker: Tracker, scores: list[int]) -> None:
        self.tracker = tracker
        self.scores = scores

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        await self.tracker.hold(0.01)
        context = request.image.context or "ctx-0"
        return Evaluation(score=self.scores[int(context.split("-")[1]) - 1], feedback="ok")


class EchoPrompter:
    conversation_id = None

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        return f"{original_prompt} (round {len(history) + 1})"


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_concurrency_limit_holds_across_candidates(tmp_path: Path, limit: int) -> None:
    tracker = Tracker()
    generator = CountingGenerator(tracker)
    scores = [30, 50, 40, 45, 20, 35, 70, 10, 65, 15]
    config = RunConfig(
        prompt="ring",
        out_dir=tmp_path,
        candidates=5,
        max_concurrency=limit,
        max_iterations=2,
        threshold=99,
    )
    result = await run_scripted(
        config, generator, ScriptedEvaluator(tracker, scores), EchoPrompter()
    )
    assert tracker.peak == limit
    assert len(result.iterations) == 10
    assert [it.index for it in result.iterations] == list(range(1, 11))
    assert generator.contexts[:5] == [None] * 5
    assert set(generator.contexts[5:]) == {"ctx-2"}  # the first round's best (score 50)
    assert result.lineage()[0].index == 2
    assert result.iterations[5].prompt == "ring (round 2)"


async def test_budget_uses_the_average_round_cost(tmp_path: Path) -> None:
    tracker = Tracker()

    class PricedGenerator(CountingGenerator):
        def __init__(self, context: ProviderContext) -> None:
            super().__init__(tracker)
            self.ledger = context.ledger  # the run's own ledger

        async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
            self.ledger.record(CallRecord(action="generate", cost_usd=0.3))
            return await super().generate_image(request)

    config = RunConfig(prompt="ring", out_dir=tmp_path, max_iterations=9, max_cost=1.0)
    result = await run_scripted(
        config, FromContext(PricedGenerator), ScriptedEvaluator(tracker, [1] * 9), EchoPrompter()
    )
    assert result.stop_reason == "budget"
    assert len(result.iterations) == 3  # 0.9 spent; a fourth round would reach 1.2
    assert sum(record.cost_usd for record in result.usage) == pytest.approx(0.9)
    assert [record.round for record in result.usage] == [1, 2, 3]


def test_a_bug_in_a_provider_is_journaled_and_keeps_finished_images(tmp_path: Path) -> None:
    tracker = Tracker()

    class BrokenPrompter(EchoPrompter):
        async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
            raise KeyError("oops")

    config = RunConfig(prompt="ring", out_dir=tmp_path, threshold=99)
    with pytest.raises(RunFailed) as failed:
        asyncio.run(
            run_scripted(
                config, CountingGenerator(tracker), ScriptedEvaluator(tracker, [10, 20]),
                BrokenPrompter(),
            )
        )
    assert failed.value.exit_code == 1
    assert "internal error: KeyError" in str(failed.value)
    partial = failed.value.partial
    assert len(partial.iterations) == 1 and Path(partial.iterations[0].image_path).is_file()
    journal = json.loads((Path(partial.run_dir) / "run.json").read_text())
    assert journal["status"] == "failed"
