"""RunConfig: every choice a run depends on, from flags and environment, validated once."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from agentic_image_gen.core.errors import ConfigurationError, InputError
from agentic_image_gen.core.types import Background, ImageSettings, OutputFormat, Quality
from agentic_image_gen.frontends.error_output import shown

# Defaults chosen from the models the openai SDK (3.5x) lists as current, none with an announced
# shutdown: gpt-5.5 drives generation and judges images (vision, Structured Outputs), the cheaper
# gpt-5.4-mini rewrites prompts, and gpt-image-2.5-sunburst is the image model OpenAI names as the
# replacement for the shut-down gpt-image-1 (transparent backgrounds and custom sizes supported).
DEFAULT_MODEL = "gpt-5.5"
DEFAULT_IMAGE_MODEL = "gpt-image-2.5-sunburst"
DEFAULT_EVALUATOR_MODEL = "gpt-5.5"
DEFAULT_PROMPTER_MODEL = "gpt-5.4-mini"

MAX_PROMPT_CHARS = 32_000
MAX_ITERATIONS_LIMIT = 50
MAX_CANDIDATES = 8
STANDARD_SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")
_SIZE_PATTERN = re.compile(r"^(\d{2,5})x(\d{2,5})$")

# A prompt made only of these says nothing: format characters (zero-width space, joiners,
# word joiner, BOM: Cf), controls (Cc), separators (Zs, Zl, Zp), and the blank letters and
# symbols fonts draw as nothing (Hangul fillers, the braille blank, the grapheme joiner).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
_BLANK_CHARACTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")

ENV_MODEL = "AIG_MODEL"
ENV_IMAGE_MODEL = "AIG_IMAGE_MODEL"
ENV_EVALUATOR_MODEL = "AIG_EVALUATOR_MODEL"
ENV_PROMPTER_MODEL = "AIG_PROMPTER_MODEL"


def is_invisible(text: str) -> bool:
    """True when ``text`` would show nothing: only invisible or blank characters (or none)."""
    return all(
        unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BLANK_CHARACTERS
        for char in text
    )


def validate_size(size: str) -> str:
    """Accept the standard sizes and any WIDTHxHEIGHT the newer image models take."""
    size = size.strip().lower()
    if size in STANDARD_SIZES:
        return size
    match = _SIZE_PATTERN.match(size)
    if not match:
        raise InputError(
            f"--size {size!r} is not 'auto' or WIDTHxHEIGHT (e.g. {', '.join(STANDARD_SIZES[1:])})"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width % 16 or height % 16:
        raise InputError(f"--size {size}: width and height must both be divisible by 16")
    if max(width, height) > 3 * min(width, height):
        raise InputError(f"--size {size}: the aspect ratio must be between 1:3 and 3:1")
    if max(width, height) > 3840 or min(width, height) > 2160:
        raise InputError(f"--size {size}: the largest supported size is 3840x2160 (or 2160x3840)")
    return f"{width}x{height}"


class ModelSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str = DEFAULT_MODEL
    image_model: str = DEFAULT_IMAGE_MODEL
    evaluator_model: str = DEFAULT_EVALUATOR_MODEL
    prompter_model: str = DEFAULT_PROMPTER_MODEL


# What --provider picks for each role; --generator/--evaluator/--prompter override one role.
PROVIDER_SETS: dict[str, tuple[str, str, str]] = {
    "openai": ("openai", "checklist", "openai"),
    "local": ("studio", "technical", "rules"),
}
PROVIDER_CHOICES = ("auto", *PROVIDER_SETS)


class ProviderNames(BaseModel):
    """The provider chosen for each role, by registry name (see providers/base.py)."""

    model_config = ConfigDict(frozen=True)

    generator: str = "openai"
    evaluator: str = "checklist"
    prompter: str = "openai"


def choose_providers(
    provider: str,
    has_api_key: bool,
    generator: str | None = None,
    evaluator: str | None = None,
    prompter: str | None = None,
) -> ProviderNames:
    """``auto`` is OpenAI when a key is set, else the offline local providers."""
    if provider == "auto":
        provider = "openai" if has_api_key else "local"
    if provider not in PROVIDER_SETS:
        raise ConfigurationError(
            f"unknown provider {provider!r} (known: {', '.join(PROVIDER_CHOICES)})"
        )
    default_generator, default_evaluator, default_prompter = PROVIDER_SETS[provider]
    return ProviderNames(
        generator=generator or default_generator,
        evaluator=evaluator or default_evaluator,
        prompter=prompter or default_prompter,
    )


class RunConfig(BaseModel):
    """A validated run. ``api_key`` is a SecretStr and is excluded from every dump."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    refs: tuple[str, ...] = ()
    image: ImageSettings = ImageSettings()
    max_iterations: int = Field(default=3)
    threshold: int = Field(default=85)
    out_dir: Path = Path("runs")
    models: ModelSettings = ModelSettings()
    providers: ProviderNames = ProviderNames()
    allow_private_urls: bool = False
    candidates: int = 1
    max_concurrency: int = 4
    max_cost: float | None = None
    prices_file: Path | None = None
    # Transient provider faults are retried within these limits (see retry.py).
    call_timeout: float = 600.0
    retry_budget: int = 8
    # Scores this close are a tie that a pairwise comparison settles (when the evaluator can).
    tie_margin: int = Field(default=3, ge=0, le=20)
    api_key: SecretStr | None = Field(default=None, exclude=True)
    base_url: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_is_usable(cls, prompt: str) -> str:
        prompt = prompt.strip()
        if is_invisible(prompt):  # "", or only zero-width and other invisible characters
            raise InputError("the prompt is empty: describe the image you want")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InputError(
                f"the prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        return prompt

    @field_validator("image")
    @classmethod
    def _size_is_supported(cls, image: ImageSettings) -> ImageSettings:
        """The same rules as ``--size``, for every way a config is made (a resumed run's
        stored settings included: an 8000x8000 journal is refused, not resumed)."""
        size = validate_size(image.size)
        return image if size == image.size else image.model_copy(update={"size": size})

    @field_validator("max_iterations")
    @classmethod
    def _iterations_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_ITERATIONS_LIMIT:
            raise InputError(f"--max-iterations must be between 1 and {MAX_ITERATIONS_LIMIT}")
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, value: int) -> int:
        if not 0 <= value <= 100:
            raise InputError("--threshold must be between 0 and 100")
        return value

    @field_validator("candidates")
    @classmethod
    def _candidates_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_CANDIDATES:
            raise InputError(f"--candidates must be between 1 and {MAX_CANDIDATES}")
        return value

    @field_validator("max_concurrency")
    @classmethod
    def _concurrency_in_range(cls, value: int) -> int:
        if not 1 <= value <= 32:
            raise InputError("--max-concurrency must be between 1 and 32")
        return value

    @field_validator("call_timeout")
    @classmethod
    def _timeout_is_positive(cls, value: float) -> float:
        if not 1 <= value <= 3600:
            raise InputError("--timeout must be between 1 and 3600 seconds")
        return value

    @field_validator("retry_budget")
    @classmethod
    def _budget_in_range(cls, value: int) -> int:
        if not 0 <= value <= 100:
            raise InputError("--retries must be between 0 and 100")
        return value

    @field_validator("max_cost")
    @classmethod
    def _cost_is_positive(cls, value: float | None) -> float | None:
        if value is not None and not value > 0:
            raise InputError("--max-cost must be a positive amount of US dollars")
        return value

    @model_validator(mode="after")
    def _format_supports_background(self) -> RunConfig:
        image = self.image
        if image.background is Background.TRANSPARENT and image.output_format is OutputFormat.JPEG:
            raise InputError(
                "--background transparent needs --format png or webp (JPEG has no transparency)"
            )
        return self


def models_from(
    env: Mapping[str, str],
    model: str | None = None,
    image_model: str | None = None,
    evaluator_model: str | None = None,
    prompter_model: str | None = None,
) -> ModelSettings:
    """Flags win over AIG_* environment variables, which win over the defaults."""

    def pick(flag: str | None, name: str, default: str) -> str:
        value = flag or env.get(name) or default
        if not value.strip():
            raise InputError(f"the model name from {name} is empty")
        return value.strip()

    return ModelSettings(
        model=pick(model, ENV_MODEL, DEFAULT_MODEL),
        image_model=pick(image_model, ENV_IMAGE_MODEL, DEFAULT_IMAGE_MODEL),
        evaluator_model=pick(evaluator_model, ENV_EVALUATOR_MODEL, DEFAULT_EVALUATOR_MODEL),
        prompter_model=pick(prompter_model, ENV_PROMPTER_MODEL, DEFAULT_PROMPTER_MODEL),
    )


def image_settings(quality: str, size: str, background: str, output_format: str) -> ImageSettings:
    return ImageSettings(
        quality=Quality(quality),
        size=validate_size(size),
        background=Background(background),
        output_format=OutputFormat(output_format),
    )


def secrets_from(env: Mapping[str, str] | None = None) -> tuple[SecretStr | None, str | None]:
    """OPENAI_API_KEY and OPENAI_BASE_URL, as the SDK itself would read them."""
    env = os.environ if env is None else env
    key = env.get("OPENAI_API_KEY", "").strip()
    base_url = env.get("OPENAI_BASE_URL", "").strip()
    return (SecretStr(key) if key else None), (base_url or None)


def public_dump(config: RunConfig) -> dict[str, object]:
    """The config as stored in run.json: no key, and no credentials inside the base URL."""
    dump = config.model_dump(mode="json")
    if config.base_url:
        dump["base_url"] = shown(config.base_url)
    return dump
