"""The technical evaluator: every check passes on a clean shot and fails on its own fault."""

from __future__ import annotations

import dataclasses
from contextlib import AsyncExitStack
from typing import Any

import numpy as np
import pytest
from local_images import SAMPLE, block_network, cut_with, decode, encode, product_shot  # noqa: F401

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import (
    Background,
    Evaluation,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    OutputFormat,
    ReferenceImage,
)
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local import cutout
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.studio import StudioGenerator
from agentic_image_gen.providers.local.technical import TechnicalEvaluator

SIZE = "512x512"  # product_shot's default: small frames keep the suite fast
OPAQUE = ImageSettings(background=Background.OPAQUE, size=SIZE)
TRANSPARENT = ImageSettings(background=Background.TRANSPARENT, size=SIZE)


def reference(data: bytes, source: str = "ref.png") -> ReferenceImage:
    return ReferenceImage(source, data, "image/png", 1024, 1024)


async def evaluate(
    data: bytes,
    prompt: str = "gold ring, white seamless background",
    settings: ImageSettings = OPAQUE,
    refs: tuple[ReferenceImage, ...] = (),
) -> Evaluation:
    config = RunConfig(prompt=prompt)
    async with AsyncExitStack() as stack:
        evaluator = await TechnicalEvaluator.create(ProviderContext(config, stack))
        image = GeneratedImage(data, settings.output_format, 512, 512)
        return await evaluator.evaluate_image(
            EvaluationRequest(image, prompt, prompt, settings, refs)
        )


def check(evaluation: Evaluation, name: str) -> dict[str, Any]:
    result: dict[str, Any] = evaluation.details["checks"][name]
    return result


async def test_a_clean_shot_passes_every_check_and_scores_100() -> None:
    clean = product_shot()
    evaluation = await evaluate(clean, refs=(reference(clean),))
    failed = {name for name, c in evaluation.details["checks"].items() if not c["passed"]}
    assert failed == set()
    assert evaluation.score == 100
    assert "every technical check passes" in evaluation.feedback
    assert evaluation.fixes == []


GREY, COOL = (-0.15, -0.15, -0.15), (0.0, 0.0, -0.06)
FAULTS: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    # check, a shot that passes it, the same shot with the fault, the prompt, the fix
    ("background", {}, {"cast": GREY}, "white seamless", "white seamless background"),
    ("background", {}, {"cast": COOL}, "white seamless", "white seamless background"),
    ("background", {}, {"backdrop": "table"}, "gold ring", "white seamless background"),
    ("background", {"backdrop": "gradient"}, {"backdrop": "gradient", "cast": (0.3,) * 3},
     "neutral gradient", "neutral gradient background"),
    ("background", {"backdrop": "dark"}, {"backdrop": "dark", "cast": (0.3,) * 3},
     "dark reflective surface", "dark reflective surface"),
    ("fill", {}, {"fill": 0.4}, "gold ring", "product fills 70% of the frame"),
    ("fill", {}, {"fill": 0.95}, "gold ring", "product fills 70% of the frame"),
    ("fill", {"fill": 0.86}, {"fill": 0.7}, "gold ring, macro shot", "macro shot"),
    ("centering", {}, {"centre": (0.35, 0.4)}, "gold ring", "centered"),
    ("sharpness", {}, {"blur": 2.5}, "gold ring", "sharp focus on details"),
    ("exposure", {}, {"tone": 0.45}, "gold ring", "balanced exposure"),
    ("exposure", {}, {"tone": 3.0}, "gold ring", "balanced exposure"),
    ("exposure", {"backdrop": "dark"}, {"backdrop": "dark", "clipped": 0.12},
     "dark reflective surface", "even, diffused lighting"),
    ("sparkle", {}, {"engraved": False, "blur": 1.0}, "gold ring", "enhance gemstone brilliance"),
    ("halo", {}, {"rim": 4}, "gold ring", "clean cut-out edges"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "good", "bad", "prompt", "fix"), FAULTS)
async def test_each_check_passes_clean_and_fails_on_its_fault_naming_the_fix(
    name: str, good: dict[str, Any], bad: dict[str, Any], prompt: str, fix: str
) -> None:
    passing = await evaluate(product_shot(**good), prompt)
    failing = await evaluate(product_shot(**bad), prompt)
    assert check(passing, name)["passed"], check(passing, name)
    assert not check(failing, name)["passed"], check(failing, name)
    assert check(failing, name)["score"] < check(passing, name)["score"]
    assert failing.score < passing.score
    assert fix in failing.feedback
    if fix in prompt:  # asking again for what the prompt says would change nothing
        assert fix not in (failing.fixes or [])
        assert f"although the prompt already asks for '{fix}'" in failing.feedback
    else:
        assert fix in (failing.fixes or [])


async def test_a_critique_does_not_ask_for_what_the_prompt_already_says() -> None:
    """The plateau of issue 16: the prompt had 'white seamless background'; the critique kept
    asking to add it, and the prompter kept the prompt as it was."""
    prompt = "gold ring, white seamless background"
    failing = await evaluate(product_shot(backdrop="table"), prompt)
    assert not check(failing, "background")["passed"]
    assert "white seamless background" not in (failing.fixes or [])
    assert "add 'white seamless background'" not in failing.feedback
    assert "although the prompt already asks for 'white seamless background'" in failing.feedback


async def test_transparency_is_checked_where_it_was_asked() -> None:
    clean = await evaluate(product_shot(backdrop="transparent"), "gold ring", TRANSPARENT)
    assert check(clean, "background")["passed"]
    assert check(clean, "background")["measured"] == {"stray": 0.0}
    assert check(clean, "halo")["passed"]
    opaque = await evaluate(product_shot(), "gold ring", TRANSPARENT)
    assert not check(opaque, "background")["passed"]
    assert not check(opaque, "size_format")["passed"]
    assert "transparent background" in opaque.fixes


async def test_stray_alpha_outside_the_product_fails_the_background() -> None:
    image = decode(product_shot(backdrop="transparent"))
    pixels = np.asarray(image, dtype=np.float32) / 255
    pixels[20:60, 20:200, 3] = 0.1  # a faint smear the cut-out left in a corner
    evaluation = await evaluate(encode(pixels), "gold ring", TRANSPARENT)
    background = check(evaluation, "background")
    assert not background["passed"]
    assert background["measured"]["stray"] > 0.005


async def test_a_soft_transparent_edge_is_a_halo() -> None:
    evaluation = await evaluate(product_shot(backdrop="transparent", rim=4), "ring", TRANSPARENT)
    assert not check(evaluation, "halo")["passed"]
    assert check(evaluation, "halo")["measured"]["width_px"] > 3


@pytest.mark.parametrize(
    ("settings", "data", "problem"),
    [
        (ImageSettings(background=Background.OPAQUE, size="1536x1024"), None, "size 512x512"),
        (
            ImageSettings(background=Background.OPAQUE, output_format=OutputFormat.JPEG, size=SIZE),
            None,
            "format PNG",
        ),
        (OPAQUE, product_shot(fmt="JPEG"), "format JPEG"),
    ],
)
async def test_size_and_format_must_be_as_asked(
    settings: ImageSettings, data: bytes | None, problem: str
) -> None:
    evaluation = await evaluate(data or product_shot(), "gold ring", settings)
    result = check(evaluation, "size_format")
    assert not result["passed"]
    assert result["score"] == 0.5
    assert problem in evaluation.feedback
    assert "check --size and --format" in evaluation.feedback


async def test_similarity_to_the_reference() -> None:
    gold = product_shot()
    same = await evaluate(product_shot(tone=1.4), refs=(reference(gold),))
    assert check(same, "similarity")["passed"]
    assert check(same, "similarity")["measured"]["colour"] > 0.8
    silver = await evaluate(product_shot(metal=(0.7, 0.7, 0.72)), refs=(reference(gold),))
    assert not check(silver, "similarity")["passed"]
    assert "faithful to the reference product" in silver.fixes
    alone = await evaluate(gold)
    assert check(alone, "similarity")["skipped"]


async def test_the_sample_photo_itself_has_the_faults_it_was_made_with() -> None:
    data = SAMPLE.read_bytes()
    evaluation = await evaluate(data, "gold ring", OPAQUE, (reference(data, str(SAMPLE)),))
    assert not check(evaluation, "background")["passed"]  # a mottled table is no studio backdrop
    assert "white seamless background" in evaluation.fixes
    assert not check(evaluation, "exposure")["passed"]  # the sample is a stop under


async def test_score_is_the_weighted_sum_and_feedback_names_the_worst() -> None:
    evaluation = await evaluate(product_shot(fill=0.4, centre=(0.3, 0.35), tone=0.5))
    results = evaluation.details["checks"]
    assert sum(c["weight"] for c in results.values()) == 100
    weighted = sum(c["weight"] * c["score"] for c in results.values() if not c["skipped"])
    counted = sum(c["weight"] for c in results.values() if not c["skipped"])
    assert evaluation.score == int(100 * weighted / counted + 1e-9)
    assert set(evaluation.details["worst"]) == {"exposure", "centering", "fill"}
    assert evaluation.feedback.startswith(f"Score {evaluation.score}/100. Fix first: exposure")
    assert "'centered'" in evaluation.feedback
    assert evaluation.fixes[0] == "balanced exposure"
    assert set(evaluation.fixes[1:3]) == {"centered", "product fills 70% of the frame"}


async def test_unreadable_bytes_are_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="cannot read the image"):
        await evaluate(b"not an image at all")


def _broken(cut: Cutout, share: float) -> Cutout:
    """The same cut-out with its top ``share`` (the stone, the top of the band) removed."""
    alpha = cut.alpha.copy()
    rows = np.nonzero((alpha > 0.5).any(axis=1))[0]
    alpha[: rows[0] + int(share * (rows[-1] - rows[0]))] = 0.0
    return dataclasses.replace(cut, alpha=alpha)


async def studio_shot_and_score(
    shared: dict[str, Any], ref: ReferenceImage, prompt: str = "gold ring, centered"
) -> Evaluation:
    """A studio shot of ``ref`` judged by the technical evaluator, both sharing one run's
    state (so both see the same cut-out), as in a real run."""
    settings = ImageSettings(background=Background.TRANSPARENT, size=SIZE)
    config = RunConfig(prompt=prompt, refs=(ref.source,))
    async with AsyncExitStack() as stack:
        context = ProviderContext(config, stack, run_cache=shared)
        studio = await StudioGenerator.create(context)
        evaluator = await TechnicalEvaluator.create(context)
        image = await studio.generate_image(GenerationRequest(prompt, settings, (ref,)))
        request = EvaluationRequest(image, prompt, prompt, settings, (ref,))
        return await evaluator.evaluate_image(request)


async def test_a_broken_cut_out_scores_well_under_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = reference(product_shot())
    whole = await studio_shot_and_score({}, ref)
    assert whole.details["completeness"]["whole"] is True
    assert whole.details["completeness"]["compared"] is True
    assert whole.details["segmenter"] in ("u2netp", "classical", "isnet", "birefnet")
    assert "not whole" not in whole.feedback

    real = cutout.cut_out

    def broken_cut_out(data: bytes, segmenter: Any) -> Cutout:
        return _broken(real(data, segmenter), 0.3)  # the stone and the band's top are gone

    cut_with(monkeypatch, broken_cut_out)
    broken = await studio_shot_and_score({}, ref)
    assert broken.details["completeness"]["whole"] is False
    assert broken.details["completeness"]["missing"] > 0.02
    assert broken.score <= 85 - 10
    assert "The product is not whole" in broken.feedback
    assert broken.feedback.startswith(f"Score {broken.score}/100.")
    assert whole.score > broken.score


async def test_colour_drift_costs_points_and_names_the_true_colour_fix() -> None:
    """Issue 27: a warmer or more saturated product is a different product; a brighter one
    is not (the check compares colour at matched lightness)."""
    gold = product_shot(backdrop="transparent")
    refs = (reference(gold),)
    brighter = product_shot(tone=1.25)  # an exposure move: lighter, the same gold
    assert check(await evaluate(brighter, refs=refs), "colour")["passed"]
    rose = product_shot(metal=(0.86, 0.6, 0.3))  # the metal turned rose
    drifted = await evaluate(rose, refs=refs)
    colour = check(drifted, "colour")
    assert not colour["passed"] and colour["measured"]["delta_ab"] > 3, colour
    assert "keep the product's true colour" in drifted.fixes
    assert "true colour: the product's colour drifted" in drifted.feedback
    # Asked for in words, a colour change is what the user wants: not scored.
    asked = await evaluate(rose, "gold ring, warmer white balance", refs=refs)
    assert check(asked, "colour")["skipped"]
    named = await evaluate(rose, "18k rose gold ring, white seamless background", refs=refs)
    assert not check(named, "colour")["passed"]  # naming a metal asks for no change
