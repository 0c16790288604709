"""The studio generator and its vocabulary: real encoded outputs, as asked, turn after turn."""

from __future__ import annotations

import base64
import json
from contextlib import AsyncExitStack
from typing import Any

import numpy as np
import pytest
from local_images import SAMPLE, alpha_box, block_network, cut_with, decode, product_shot  # noqa: F401

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError, ProviderError, UnusableReference
from agentic_image_gen.core.types import (
    Background,
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    OutputFormat,
    ReferenceImage,
)
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local import cutout, vocabulary
from agentic_image_gen.providers.local.studio import StudioGenerator, decode_token, encode_token
from agentic_image_gen.providers.local.vocabulary import StudioSettings

# One cut-out cache for the module: GrabCut on the sample runs once, as within one run.
SHARED: dict[str, Any] = {}
SAMPLE_REF = ReferenceImage(str(SAMPLE), SAMPLE.read_bytes(), "image/jpeg", 1280, 960)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("on a clean white seamless background", {"backdrop": "white"}),
        ("white seamless", {"backdrop": "white"}),
        ("a dark reflective surface", {"backdrop": "dark"}),
        ("on a reflective surface", {"backdrop": "dark"}),
        ("neutral gradient", {"backdrop": "gradient"}),
        ("soft studio lighting", {"light": "soft"}),
        ("soft studio light", {"light": "soft"}),
        ("dramatic single light source", {"light": "dramatic"}),
        ("even, diffused lighting", {"light": "even"}),
        ("macro shot of the center stone", {"fill": 0.85, "centered": True}),
        ("centered", {"centered": True}),
        ("centred", {"centered": True}),
        ("enhance gemstone brilliance", {"brilliance": True}),
        ("rim lighting to highlight facets", {"brilliance": True}),
        ("sharp focus on details", {"sharpen": True}),
        ("sharp focus", {"sharpen": True}),
        ("the product fills 65% of the frame", {"fill": 0.65}),
        ("18k yellow gold", {}),  # naming the metal describes the product
        ("rose gold", {}),
        ("white gold", {}),
        ("warmer white balance", {"warmth": "warm"}),
        ("warm gold tones", {"warmth": "warm"}),
        ("neutral white balance", {"warmth": "neutral"}),
        ("clean cut-out edges", {"edges": "clean"}),
        ("no shadow", {"shadow": False}),
        ("balanced exposure", {"exposure": "balanced"}),
        ("a ring on a textured silk fabric", {}),
    ],
)
def test_vocabulary_reads_the_specification_terms(phrase: str, expected: dict[str, Any]) -> None:
    assert vocabulary.mentioned(phrase) == expected


def test_later_phrases_win_and_unmentioned_slots_keep_the_previous_turn() -> None:
    first = vocabulary.apply(StudioSettings(), "ring, warm tones, dark reflective surface, macro")
    second = vocabulary.apply(first, "now on a white seamless background, sharp focus")
    assert second.backdrop == "white"
    assert second.fill == 0.85 and second.centered  # kept from turn one
    assert second.sharpen and second.warmth == "warm"
    assert (
        vocabulary.apply(first, "fills 60% of the frame, then fills 80% of the frame").fill == 0.8
    )
    assert vocabulary.apply(StudioSettings(), "fills 5% of the frame").fill == 0.3  # clamped


def test_every_canonical_phrase_reads_back_as_its_own_choice() -> None:
    for term in vocabulary.TERMS:
        found = vocabulary.find(term.canonical)
        assert [(m.slot, m.values) for m in found] == [(term.slot, term.values)], term


def test_token_round_trips_and_rejects_anything_else() -> None:
    settings = StudioSettings(backdrop="dark", fill=0.7, centered=True, sharpen=True)
    token = encode_token(settings)
    assert token.startswith("studio:v1:")
    assert decode_token(token) == settings
    payload = settings.model_dump() | {"backdrop": "purple"}
    bad_value = "studio:v1:" + base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    for broken in ("resp_123", "studio:v1:!!!", "studio:v1:" + "e30", bad_value, token[:-6]):
        with pytest.raises(ProviderError):
            decode_token(broken)


async def generator(refs: tuple[str, ...] = (str(SAMPLE),)) -> StudioGenerator:
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt="ring", refs=refs), stack, run_cache=SHARED)
        return await StudioGenerator.create(context)


async def generate(
    prompt: str,
    settings: ImageSettings,
    context: str | None = None,
    ref: ReferenceImage = SAMPLE_REF,
    variant: int = 0,
) -> GeneratedImage:
    return await (await generator()).generate_image(
        GenerationRequest(prompt, settings, (ref,), context, variant)
    )


async def test_create_without_references_says_what_is_needed() -> None:
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt="a gold ring"), stack)
        with pytest.raises(InputError) as raised:
            await StudioGenerator.create(context)
    message = str(raised.value)
    assert "--refs" in message and "OPENAI_API_KEY" in message and "\n" not in message


@pytest.mark.parametrize(
    ("background", "fmt", "phrase", "mode"),
    [
        (Background.TRANSPARENT, OutputFormat.PNG, "", "RGBA"),
        (Background.TRANSPARENT, OutputFormat.WEBP, "", "RGBA"),
        (Background.OPAQUE, OutputFormat.PNG, "white seamless background", "RGB"),
        (Background.OPAQUE, OutputFormat.JPEG, "neutral gradient", "RGB"),
        (Background.OPAQUE, OutputFormat.WEBP, "dark reflective surface", "RGB"),
        (Background.AUTO, OutputFormat.PNG, "transparent background", "RGBA"),
        (Background.AUTO, OutputFormat.JPEG, "transparent background", "RGB"),
    ],
)
async def test_outputs_decode_with_the_asked_size_format_and_alpha(
    background: Background, fmt: OutputFormat, phrase: str, mode: str
) -> None:
    settings = ImageSettings(background=background, output_format=fmt, size="1024x1536")
    image = await generate(f"gold ring, {phrase}, centered, fills 70% of the frame", settings)
    decoded = decode(image.data)
    assert (decoded.format, decoded.size, image.width, image.height) == (
        fmt.pil_format,
        (1024, 1536),
        1024,
        1536,
    )
    assert decoded.mode == mode
    assert image.output_format is fmt
    if mode == "RGBA":
        alpha = np.asarray(decoded.getchannel("A"))
        assert alpha[:40].max() == 0 and alpha[-40:].max() == 0 and alpha[:, :40].max() == 0
        assert (alpha == 255).mean() > 0.05
        fill, cx, cy = alpha_box(decoded)
        assert fill == pytest.approx(0.70, abs=0.02)
        assert (cx, cy) == (pytest.approx(0.5, abs=0.01), pytest.approx(0.5, abs=0.01))


async def test_auto_size_is_1024_square() -> None:
    image = await generate("gold ring", ImageSettings(size="auto"))
    assert decode(image.data).size == (1024, 1024) == (image.width, image.height)


async def test_backdrops_shadow_and_reflection_are_where_they_belong() -> None:
    opaque = ImageSettings(background=Background.OPAQUE)
    base = "gold ring, centered, fills 60% of the frame"
    white = np.asarray(decode((await generate(f"{base}, white seamless", opaque)).data), float)
    assert white[:30].min() >= 254  # pure white seamless above the product
    below = white[820:860, 412:612].mean()  # the contact shadow under the ring
    assert 150 < below < 250
    plain = np.asarray(decode((await generate(f"{base}, white, no shadow", opaque)).data), float)
    assert plain[820:860, 412:612].mean() > below + 5
    dark = np.asarray(decode((await generate(f"{base}, dark reflective", opaque)).data), float)
    corners = dark[-40:, :80].mean()
    reflection = dark[830:900, 430:600].mean()
    assert corners < 30 and reflection > corners + 10  # a mirrored ring under the ring
    gradient = np.asarray(decode((await generate(f"{base}, neutral gradient", opaque)).data), float)
    assert gradient[5, 5].mean() > gradient[-5, 5].mean() + 20  # light at the top, darker floor
    assert np.ptp(gradient[5, 5]) < 2 and np.ptp(gradient[-5, 5]) < 2  # neutral: no cast


async def test_next_turn_continues_from_the_token_and_applies_only_what_it_says() -> None:
    settings = ImageSettings()
    first = await generate("gold ring, warm tones, dark reflective surface", settings)
    as_shot = decode_token(first.context or "")
    assert not as_shot.centered and as_shot.fill is None and as_shot.backdrop == "dark"
    # a fresh generator (as after a resume) continues from the token alone
    second = await generate("centered, balanced exposure", settings, first.context)
    continued = decode_token(second.context or "")
    assert continued.backdrop == "dark" and continued.centered
    assert continued.exposure == "balanced" and continued.warmth == "warm"
    assert second.revised_prompt and "centered" in second.revised_prompt
    with pytest.raises(ProviderError):
        await generate("centered", settings, "resp_from_another_provider")


async def test_balanced_exposure_lifts_the_underexposed_sample() -> None:
    settings = ImageSettings()
    dark = decode((await generate("ring, centered", settings)).data)
    fixed = decode((await generate("ring, centered, balanced exposure", settings)).data)

    def median_tone(image: Any) -> float:
        pixels = np.asarray(image, float) / 255
        solid = pixels[..., 3] > 0.5
        return float(np.median(pixels[..., :3][solid] @ [0.2126, 0.7152, 0.0722]))

    assert median_tone(dark) < 0.40
    assert median_tone(fixed) == pytest.approx(0.5, abs=0.04)


async def test_an_existing_alpha_channel_is_the_cut_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_grabcut(rgb: Any) -> Any:
        raise AssertionError("a transparent reference must not be segmented")

    monkeypatch.setattr(cutout, "segment", no_grabcut)
    data = product_shot(backdrop="transparent", fill=0.5, centre=(0.4, 0.45))
    ref = ReferenceImage("cut.png", data, "image/png", 512, 512)
    image = await generate("ring, centered, fills 70% of the frame", ImageSettings(), ref=ref)
    fill, cx, cy = alpha_box(decode(image.data))
    assert fill == pytest.approx(0.70, abs=0.02)
    assert (cx, cy) == (pytest.approx(0.5, abs=0.01), pytest.approx(0.5, abs=0.01))


async def test_the_cut_out_is_made_once_per_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = cutout.cut_out

    def counting(data: bytes, segmenter: Any) -> cutout.Cutout:
        calls.append(len(data))
        return real(data, segmenter)

    cut_with(monkeypatch, counting)
    gen = await generator()
    ref = ReferenceImage("r.png", product_shot(fill=0.45), "image/png", 512, 512)
    context = None
    for prompt in ("ring", "ring, centered", "ring, centered, fills 70% of the frame"):
        image = await gen.generate_image(
            GenerationRequest(prompt, ImageSettings(), (ref,), context)
        )
        context = image.context
    assert len(calls) == 1


async def test_a_reference_with_nothing_to_cut_out_is_a_reference_error() -> None:
    blank = product_shot(backdrop="white", fill=0.0001)
    ref = ReferenceImage("blank.png", blank, "image/png", 512, 512)
    with pytest.raises(UnusableReference, match=r"reference 'blank\.png': "):
        await generate("ring", ImageSettings(), ref=ref)


def test_later_candidates_explore_only_what_the_prompt_left_open() -> None:
    prompt = "gold ring, soft studio lighting, centered"
    asked = vocabulary.apply(StudioSettings(), prompt)
    assert vocabulary.explore(asked, prompt, 0) == asked
    tried = [vocabulary.explore(asked, prompt, variant) for variant in range(1, 7)]
    before = asked.model_dump()
    changes = [{k: v for k, v in t.model_dump().items() if before[k] != v} for t in tried]
    # The light and the centring were asked for: no candidate touches them.
    assert changes[:5] == [
        {"exposure": "balanced"},
        {"sharpen": True},
        {"brilliance": True},
        {"edges": "clean"},
        {"exposure": "balanced"},  # past the list, the moves come round again
    ]
    everything = "balanced exposure, soft light, centered, sharp focus, sparkle, clean edges"
    pinned = vocabulary.apply(StudioSettings(), everything)
    assert vocabulary.explore(pinned, everything, 3) == pinned


async def test_candidates_of_a_round_are_different_images() -> None:
    settings = ImageSettings()
    made = [await generate("gold ring", settings, variant=v) for v in range(3)]
    pixels = [np.asarray(decode(image.data), np.int16) for image in made]
    assert not np.array_equal(pixels[0], pixels[1])
    assert not np.array_equal(pixels[1], pixels[2])
    assert "balanced exposure" in (made[1].revised_prompt or "")
    assert "soft studio lighting" in (made[2].revised_prompt or "")
    # Each candidate's token carries its own choices, so the round's best continues from them.
    assert decode_token(made[1].context or "").exposure == "balanced"
