"""RunConfig validates itself (every problem at once, by field); providers validate their
own options; the CLI names problems by flag; nothing secret is ever dumped."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentic_image_gen.core.config import RunConfig, problems, public_dump
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import ImageSettings, validate_size
from agentic_image_gen.frontends.arguments import config_from
from agentic_image_gen.frontends.parser import parse
from agentic_image_gen.providers.openai.plugin import DEFAULT_IMAGE_MODEL, PROVIDER
from agentic_image_gen.providers.registry import Registry


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
    with pytest.raises(ValueError, match=reason):
        validate_size(size)


def test_transparent_jpeg_is_refused() -> None:
    needs = "background 'transparent' needs output_format 'png' or 'webp'"
    with pytest.raises(ValidationError, match=needs):
        ImageSettings(background="transparent", output_format="jpeg")  # type: ignore[arg-type]


def test_opaque_jpeg_is_fine() -> None:
    image = ImageSettings(size="auto", background="opaque", output_format="jpeg")  # type: ignore[arg-type]
    assert RunConfig(prompt="ring", image=image).image.output_format.extension == "jpg"


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
    with pytest.raises(ValidationError, match="prompt is empty"):
        RunConfig(prompt=prompt)


def test_overlong_prompt_refused() -> None:
    with pytest.raises(ValidationError, match="the limit is 32000"):
        RunConfig(prompt="x" * 32_001)


def test_every_problem_is_reported_at_once_by_field() -> None:
    with pytest.raises(ValidationError) as raised:
        RunConfig.model_validate(
            {"prompt": "ring", "max_iterations": 0, "threshold": 101, "candidates": 9}
        )
    found = dict(problems(raised.value))
    assert found == {
        "max_iterations": "must be between 1 and 50",
        "threshold": "must be between 0 and 100",
        "candidates": "must be between 1 and 8",
    }


def test_the_cli_names_every_problem_by_its_flag() -> None:
    args = parse(
        ["ring", "--max-iterations", "0", "--threshold", "101", "--size", "100x100"]
    )
    with pytest.raises(InputError) as raised:
        config_from(args)
    assert str(raised.value) == (
        "--size 100x100: width and height must both be divisible by 16; "
        "--max-iterations must be between 1 and 50; --threshold must be between 0 and 100"
    )


def test_model_flags_beat_environment_beats_defaults() -> None:
    env = {"AIG_MODEL": "env-main", "AIG_PROMPTER_MODEL": "env-prompter"}
    options = PROVIDER.resolve_options({"prompter_model": "flag-prompter"}, env)
    assert options.model == "env-main"  # type: ignore[attr-defined]
    assert options.prompter_model == "flag-prompter"  # type: ignore[attr-defined]
    assert options.image_model == DEFAULT_IMAGE_MODEL  # type: ignore[attr-defined]
    assert DEFAULT_IMAGE_MODEL != "gpt-image-1"


def test_store_and_keep_files_from_flags_options_and_environment() -> None:
    from agentic_image_gen.frontends.arguments import provider_options

    options = PROVIDER.resolve_options({}, {"AIG_OPENAI_STORE": "false"})
    assert options.store is False and options.keep_files is False  # type: ignore[attr-defined]
    args = parse(["ring", "--no-store", "--keep-files"])
    assert provider_options(args)["openai"] == {"store": False, "keep_files": True}
    args = parse(["ring", "--no-store", "-o", "openai.store=true"])
    assert provider_options(args)["openai"] == {"store": "true"}  # the explicit option wins
    with pytest.raises(InputError, match="input_fidelity"):
        PROVIDER.resolve_options({"input_fidelity": "extreme"}, {})


def test_a_providers_options_are_validated_by_the_provider() -> None:
    with pytest.raises(InputError, match="provider 'openai' options: image_model: must not"):
        PROVIDER.resolve_options({"image_model": "  "}, {})
    with pytest.raises(InputError, match="colour: Extra inputs are not permitted"):
        PROVIDER.resolve_options({"colour": "red"}, {})


def test_auto_picks_openai_only_with_a_key() -> None:
    registry = Registry.installed()
    config = RunConfig(prompt="ring")
    assert registry.choose(config, {}).generator == "studio"
    keyed = registry.choose(config, {"OPENAI_API_KEY": "k"})
    assert (keyed.provider, keyed.generator, keyed.evaluator) == ("openai", "openai", "checklist")


def test_secrets_never_dumped() -> None:
    env = {"OPENAI_API_KEY": "test-secret-value", "OPENAI_BASE_URL": "https://u:pw@h.example/v1"}
    options = PROVIDER.resolve_options({}, env)
    config = RunConfig(
        prompt="ring",
        refs=("https://user:pw@cdn.example/ring.jpg",),
        provider_options={"openai": options.model_dump(), "other": {"url": "https://a:b@x/y"}},
    )
    dumped = str(public_dump(config))
    assert "test-secret-value" not in dumped and "pw@" not in dumped and "a:b@" not in dumped
    assert "cdn.example/ring.jpg" in dumped
    assert "h.example" not in dumped  # the endpoint is read anew from the environment
    assert "test-secret-value" not in repr(config)


def test_a_visible_character_among_invisible_ones_is_a_prompt() -> None:
    assert RunConfig(prompt="\u200bring\u200d").prompt == "\u200bring\u200d"


@pytest.mark.parametrize("size", ["8000x8000", "1000x1000", "512x2048"])
def test_an_unsupported_size_is_refused_however_the_config_is_made(size: str) -> None:
    """Not only through --size: a resumed run's stored settings are validated the same way."""
    with pytest.raises(ValidationError, match=f"{size}: "):
        RunConfig.model_validate({"prompt": "ring", "image": {"size": size}})


def run_help(capsys: pytest.CaptureFixture[str]) -> str:
    """The run's --help, as printed, on one line."""
    with pytest.raises(SystemExit):
        parse(["--help"])
    return " ".join(capsys.readouterr().out.split())


def test_the_cli_defaults_are_runconfigs(capsys: pytest.CaptureFixture[str]) -> None:
    """No flag repeats a default: a bare prompt makes exactly the library's default run."""
    assert config_from(parse(["ring"])) == RunConfig(prompt="ring")
    flat = run_help(capsys)
    defaults = RunConfig(prompt="ring")
    assert f"1-50 (default {defaults.max_iterations};" in flat
    assert f"(default {defaults.retry_budget})" in flat
    assert f"default {defaults.image.size}" in flat


def test_the_resumable_limits_are_one_set_for_help_refusal_and_session(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agentic_image_gen.core.config import RESUMABLE
    from agentic_image_gen.engine.session import resumed_config
    from agentic_image_gen.frontends.arguments import FLAGS, resume_overrides

    flags = [FLAGS[field] for field in RESUMABLE]
    flat = run_help(capsys)
    resume_help = flat[flat.index("--resume RUN_DIR continue") :][:300]
    assert all(flag in resume_help for flag in flags), resume_help
    with pytest.raises(InputError) as refused:
        resume_overrides(parse(["--resume", "x", "--quality", "low"]))
    assert str(refused.value).startswith("--quality cannot change on --resume")
    assert all(flag in str(refused.value) for flag in flags)
    given = ["--resume", "x", "--max-iterations", "9", "--patience", "0", "--timeout", "30"]
    given += ["--retries", "2", "--threshold", "90", "--max-cost", "1.5", "--prices", "p.json"]
    overrides = resume_overrides(parse(given))
    assert set(overrides) == RESUMABLE
    resumed = resumed_config(RunConfig(prompt="ring"), overrides)
    assert (resumed.max_iterations, resumed.patience, resumed.call_timeout) == (9, 0, 30)
    with pytest.raises(InputError) as library:
        resumed_config(RunConfig(prompt="ring"), {"candidates": 2})
    assert all(field in str(library.value) for field in RESUMABLE)
