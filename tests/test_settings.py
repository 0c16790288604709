from __future__ import annotations

import pytest

from agentic_image_gen.core.config import (
    DEFAULT_IMAGE_MODEL,
    RunConfig,
    image_settings,
    models_from,
    public_dump,
    secrets_from,
    validate_size,
)
from agentic_image_gen.core.errors import InputError


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("auto", "auto"),
        ("1024x1024", "1024x1024"),
        ("1024x1536", "1024x1536"),
        ("1536x1024", "1536x1024"),
        ("1536x864", "1536x864"),
        (" 2160X3840 ", "2160x3840"),
        ("3840x2160", "3840x2160"),
        ("768x2304", "768x2304"),
    ],
)
def test_sizes_accepted(size: str, expected: str) -> None:
    assert validate_size(size) == expected


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("1000x1000", "divisible by 16"),
        ("4096x2160", "largest supported"),
        ("2304x2304", "largest supported"),
        ("3200x1024", "aspect ratio"),
        ("big", "WIDTHxHEIGHT"),
        ("1024x", "WIDTHxHEIGHT"),
        ("-1024x1024", "WIDTHxHEIGHT"),
    ],
)
def test_sizes_refused(size: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        validate_size(size)


def test_transparent_jpeg_is_an_input_error() -> None:
    with pytest.raises(InputError, match="transparent needs --format png or webp"):
        RunConfig(prompt="ring", image=image_settings("high", "auto", "transparent", "jpeg"))


def test_opaque_jpeg_is_fine() -> None:
    config = RunConfig(prompt="ring", image=image_settings("high", "auto", "opaque", "jpeg"))
    assert config.image.output_format.extension == "jpg"


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "   \n",
        "\u200b",  # zero-width space
        "\u200b\u200c\u200d\u2060\ufeff",  # ZWSP, ZWNJ, ZWJ, word joiner, BOM
        " \u200b \u00a0\u3000\u2028\x00\x1b ",  # with separators and controls
        "\u3164\u2800\u034f",  # Hangul filler, braille blank, grapheme joiner
    ],
)
def test_empty_or_invisible_prompt_refused(prompt: str) -> None:
    with pytest.raises(InputError, match="prompt is empty"):
        RunConfig(prompt=prompt)


def test_overlong_prompt_refused() -> None:
    with pytest.raises(InputError, match="the limit is 32000"):
        RunConfig(prompt="x" * 32_001)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_iterations", 0, "--max-iterations"),
        ("max_iterations", 51, "--max-iterations"),
        ("threshold", -1, "--threshold"),
        ("threshold", 101, "--threshold"),
    ],
)
def test_numbers_out_of_range(field: str, value: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RunConfig.model_validate({"prompt": "ring", field: value})


def test_model_flags_beat_environment_beats_defaults() -> None:
    env = {"AIG_MODEL": "env-main", "AIG_PROMPTER_MODEL": "env-prompter"}
    models = models_from(env, model=None, prompter_model="flag-prompter")
    assert models.model == "env-main"
    assert models.prompter_model == "flag-prompter"
    assert models.image_model == DEFAULT_IMAGE_MODEL
    assert models.image_model != "gpt-image-1"


def test_secrets_never_dumped() -> None:
    key, base_url = secrets_from(
        {"OPENAI_API_KEY": "test-secret-value", "OPENAI_BASE_URL": "https://u:pw@h.example/v1"}
    )
    config = RunConfig(prompt="ring", api_key=key, base_url=base_url)
    dumped = str(public_dump(config))
    assert "test-secret-value" not in dumped
    assert "pw@" not in dumped
    assert "h.example/v1" in dumped
    assert "test-secret-value" not in repr(config)


def test_a_visible_character_among_invisible_ones_is_a_prompt() -> None:
    assert RunConfig(prompt="\u200bring\u200d").prompt == "\u200bring\u200d"


@pytest.mark.parametrize("size", ["8000x8000", "1000x1000", "512x2048"])
def test_an_unsupported_size_is_refused_however_the_config_is_made(size: str) -> None:
    """Not only through --size: a resumed run's stored settings are validated the same way."""
    with pytest.raises(InputError, match=f"--size {size}"):
        RunConfig.model_validate({"prompt": "ring", "image": {"size": size}})
