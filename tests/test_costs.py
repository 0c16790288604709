"""Costs come from the usage the API reports (``usage`` and ``tool_usage.image_gen``), priced
per token type by model family; the estimate made before a call is kept apart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from images import ring_photo

from agentic_image_gen.core.usage import PriceTable, TokenCounts, TokenPrice, model_family
from agentic_image_gen.engine.installed import described_prices
from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.providers_command import price_lines
from agentic_image_gen.providers.openai.prices import PRICES


def test_a_scripted_run_costs_what_a_hand_count_says(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refs = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for ref in refs:
        ref.write_bytes(ring_photo())
    openai_env.script_scores([60, 70])
    code, output, _err = run_cli(
        capsys, "gold ring", "--refs", *map(str, refs), "--out", str(tmp_path / "runs"),
        "--candidates", "2", "--max-iterations", "1", "--evaluator", "rubric",
    )
    assert code == 0
    # The fake answers with dated snapshots (gpt-5.5-2026-08-06): priced as their family.
    # Each generation: mainline gpt-5.5, 10 input + 20 output tokens at 2.5 / 15 USD per 1M
    #   = 0.000325; image tool (gpt-image-2.5-sunburst): "gold ring" = 2 text tokens at 5,
    #   2 references x 323 = 646 image tokens at 10, 4160 image output tokens at 40
    #   = 0.00001 + 0.00646 + 0.1664 = 0.17287.
    generation = 0.000325 + 0.17287
    evaluation = 0.000325  # gpt-5.5, 10 + 20 tokens
    expected = 2 * generation + 2 * evaluation  # uploads cost nothing
    assert expected == pytest.approx(0.34704)
    usage = output["usage"]
    assert usage["cost_usd"] == pytest.approx(expected, abs=1e-4)
    assert usage["reported_usd"] == pytest.approx(expected, abs=1e-4)
    assert usage["estimated_usd"] == pytest.approx(2 * 0.1664, abs=1e-4)  # before the calls
    assert usage["image_input_tokens"] == 2 * 646
    assert usage["image_output_tokens"] == 2 * 4160
    assert usage["unpriced_calls"] == 0 and usage["unpriced_models"] == []
    # The run folder keeps the same records, each with its own estimate and reported cost.
    records = json.loads((Path(output["run_dir"]) / "run.json").read_text())["result"]["usage"]
    generations = [r for r in records if r["action"] == "generating an image"]
    assert [r["model"] for r in generations] == ["gpt-5.5-2026-08-06"] * 2
    assert all(r["reported_usd"] == pytest.approx(generation, abs=1e-6) for r in generations)
    assert all(r["estimated_usd"] == pytest.approx(0.1664) for r in generations)
    assert sum(r["cost_usd"] for r in records) == pytest.approx(expected, abs=1e-6)


def test_snapshot_names_are_priced_as_their_family() -> None:
    assert model_family("gpt-4o-2024-08-06") == "gpt-4o"
    assert model_family("gpt-image-2.5-sunburst-2026-09-08") == "gpt-image-2.5-sunburst"
    assert model_family("gpt-5.5") == "gpt-5.5"
    table = PriceTable(tokens={"gpt-4o": TokenPrice(input=2.5, output=10.0)})
    assert table.token_cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.5)
    assert table.token_cost("gpt-4o-mini", 1, 1) is None


def test_every_image_model_the_sdk_lists_has_a_price() -> None:
    import typing

    from openai.types.image_model import ImageModel

    for model in typing.get_args(ImageModel):
        assert PRICES.image_cost(model, "auto", "1024x1024") is not None, model
        if not model.startswith("dall-e"):  # billed per image, retired
            assert PRICES.token_price(model) is not None, model


def test_token_types_are_priced_apart() -> None:
    price = TokenPrice(input=5, output=40, cached_input=1, image_input=10, image_output=40)
    counts = TokenCounts(
        text_input=100, cached_text_input=40, image_input=1000, text_output=0, image_output=4160
    )
    # 60 uncached text at 5, 40 cached at 1, 1000 image in at 10, 4160 image out at 40.
    assert price.cost(counts) == pytest.approx((60 * 5 + 40 * 1 + 1000 * 10 + 4160 * 40) / 1e6)


def _records(output: dict[str, Any]) -> list[dict[str, Any]]:
    run = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    records: list[dict[str, Any]] = run["result"]["usage"]
    return records


def test_a_failed_image_response_is_charged_its_reported_image_tokens(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A ``failed`` Response that reports ``tool_usage.image_gen`` was billed for it: the
    ledger (and the budget) counts those tokens, not only the mainline's."""
    openai_env.script_scores([95])
    openai_env.script_faults([{"failed": "server_error", "kind": "generation"}])
    code, output, err = run_cli(
        capsys, "gold ring", "--out", str(tmp_path), "--threshold", "90", "--evaluator", "rubric"
    )
    assert code == 0, err
    failed_reply, _ = (r.response for r in openai_env.generation_requests())
    assert failed_reply["status"] == "failed"
    assert failed_reply["tool_usage"]["image_gen"]["output_tokens"] == 4160
    (failed,) = [r for r in _records(output) if r["action"] == "generating an image (failed)"]
    # Mainline 10 + 20 tokens of gpt-5.5 (0.000325); the tool: "gold ring" = 2 text tokens
    # at 5, 4160 image output tokens at 40 (0.00001 + 0.1664).
    assert failed["reported_usd"] == pytest.approx(0.000325 + 0.16641)
    assert failed["cost_usd"] == failed["reported_usd"]
    assert failed["image_output_tokens"] == 4160 and failed["images"] == 0
    assert output["usage"]["cost_usd"] == pytest.approx(2 * 0.166735 + 0.000325, abs=1e-4)


def test_cached_image_tokens_without_a_breakdown_get_the_cached_price(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = tmp_path / "a.jpg"
    ref.write_bytes(ring_photo())
    openai_env.cached_image_tokens = 323  # the reference, cached; no cached_tokens_details
    openai_env.script_scores([95])
    code, output, err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path), "--threshold", "90",
        "--evaluator", "rubric",
    )
    assert code == 0, err
    (generation,) = [r for r in _records(output) if r["action"] == "generating an image"]
    # Laid on the text first (2 tokens), then the image (321 of 323), all at the cached 1.25:
    # 2 x 1.25 + 2 x 10 + 321 x 1.25 + 4160 x 40 per 1M, plus the mainline's 0.000325.
    tool = (2 * 1.25 + 2 * 10 + 321 * 1.25 + 4160 * 40) / 1e6
    assert generation["reported_usd"] == pytest.approx(0.000325 + tool, abs=1e-6)
    assert generation["cached_input_tokens"] == 323


def test_every_price_names_its_source_or_is_an_estimate() -> None:
    """Neither the SDK nor the spec prices anything: a figure is sourced only by a page with
    its date; what no source documents is ``estimated`` (xhigh and max only multiply high)."""
    for model in PRICES.tokens.keys() | PRICES.images.keys():
        source = PRICES.sources[model]
        assert source.source.strip(), model
        if not source.estimated:
            assert re.search(r"\b20\d\d\b", source.source), (model, source.source)
    counts = PRICES.image_tokens
    assert {q for q, count in counts.items() if count.estimated} == {"xhigh", "max", "auto"}
    assert [counts[q].tokens for q in ("low", "medium", "high")] == [272, 1056, 4160]
    for quality, per_model in [(q, PRICES.images["gpt-image-2.5-sunburst"][q]) for q in counts]:
        assert per_model == pytest.approx(counts[quality].tokens * 40 / 1e6)  # derived, once
    assert PRICES.estimated("gpt-5.5-2026-08-06") and not PRICES.estimated("gpt-image-1")


def test_the_readme_prints_the_price_table_the_code_has() -> None:
    lines = price_lines(described_prices(PRICES))
    block = "\n".join(line.removeprefix("    ") for line in lines[1:])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"```\n{block}\n```" in readme, "README's price table differs from prices.py:\n" + block


def test_estimates_are_marked_in_providers_and_in_the_runs_json(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["providers", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    models = next(p for p in listed if p["name"] == "openai")["prices"]["models"]
    assert models["gpt-5.5"]["estimated"] is True and models["gpt-5.5"]["source"]
    assert models["gpt-image-1"]["estimated"] is False
    assert models["gpt-image-1"]["per_million_tokens"]["cached_image_input"] == 2.5

    openai_env.script_scores([95, 95])
    args = ["gold ring", "--out", str(tmp_path), "--threshold", "90", "--evaluator", "rubric"]
    code, output, err = run_cli(capsys, *args)
    assert code == 0, err
    assert output["usage"]["estimated_price_models"] == ["gpt-5.5", "gpt-image-2.5-sunburst"]
    # A user's own figures (--prices) are theirs: no longer the table's estimates.
    mine = tmp_path / "prices.json"
    mine.write_text(json.dumps({"tokens": {"gpt-5.5": {"input": 2.5, "output": 15}}}))
    code, output, err = run_cli(capsys, *args, "--prices", str(mine))
    assert code == 0, err
    assert output["usage"]["estimated_price_models"] == ["gpt-image-2.5-sunburst"]
