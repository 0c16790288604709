"""RunConfig: every choice a run depends on, as validated data.

Validation belongs here (field constraints, every problem at once, named by field); a front
end translates field names into its own words (the CLI into flag names). Vendor settings are
not fields of their own: ``provider_options`` carries them as data, and each provider
validates its part with its own options model.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from agentic_image_gen.core.profiles import PROFILES
from agentic_image_gen.core.redact import shown
from agentic_image_gen.core.review import ReviewMode
from agentic_image_gen.core.types import ImageSettings

MAX_PROMPT_CHARS = 32_000
MAX_ITERATIONS_LIMIT = 50
MAX_CANDIDATES = 8
# A reference is a path, a URL, or the image's bytes themselves (a web upload needs no file).
Reference = str | bytes
# What a resume may change (RunConfig fields): limits, not what the images are made of.
RESUMABLE = frozenset(
    {
        "max_iterations",
        "threshold",
        "patience",
        "max_cost",
        "call_timeout",
        "retry_budget",
        "prices_file",
    }
)

# A prompt made only of these says nothing: format characters (zero-width space, joiners,
# word joiner, BOM: Cf), controls (Cc), separators (Zs, Zl, Zp), and the blank letters and
# symbols fonts draw as nothing (Hangul fillers, the braille blank, the grapheme joiner).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
_BLANK_CHARACTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")


def is_invisible(text: str) -> bool:
    """True when ``text`` would show nothing: only invisible or blank characters (or none)."""
    return all(
        unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BLANK_CHARACTERS
        for char in text
    )


class ProviderNames(BaseModel):
    """The provider set of a run and, per role, a component that overrides it (by name)."""

    model_config = ConfigDict(frozen=True)

    provider: str = "auto"
    generator: str | None = None
    evaluator: str | None = None
    prompter: str | None = None


def _between(low: float, high: float, value: float, unit: str = "") -> None:
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}{unit}")


class RunConfig(BaseModel):
    """A validated run. It holds no secret: keys are read from the environment by the
    provider that needs them, when the run starts."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    refs: tuple[Reference, ...] = ()
    image: ImageSettings = ImageSettings()
    max_iterations: int = 3
    threshold: int = 85
    out_dir: Path = Path("runs")
    providers: ProviderNames = ProviderNames()
    # Per provider name, its options (model names, endpoints...), validated by that provider.
    provider_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    allow_private_urls: bool = False
    candidates: int = 1
    max_concurrency: int = 4
    max_cost: float | None = None
    prices_file: Path | None = None
    # Transient provider faults are retried within these limits (see core/retry.py).
    call_timeout: float = 600.0
    retry_budget: int = 8
    # The product segmenter by name (None: AIG_SEGMENTER, else the best installed one).
    segmenter: str | None = None
    # Keep the reference's own product pixels: generators paint only the scene around them.
    lock_product: bool = False
    # A marketplace profile (core/profiles.py): its rules join the brief and the delivery.
    profile: str | None = None
    # Stop after this many rounds in a row without a gain (0: never; see engine/plateau.py).
    patience: int = 3
    # Scores this close are a tie that a pairwise comparison settles (when the evaluator can).
    tie_margin: int = Field(default=3, ge=0, le=20)
    # A person in the loop (core/review.py): never (autonomous), after every round, or at the end.
    review: ReviewMode = "never"
    # Seconds to wait for a person before the evaluator's choice goes on (None: wait; the
    # run stays resumable while it waits).
    review_timeout: float | None = None

    @field_validator(
        "max_iterations", "threshold", "candidates", "max_concurrency", "call_timeout",
        "retry_budget", "patience", "tie_margin", "max_cost", "review_timeout", mode="before",
    )
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):  # True == 1 to Python, never what a caller meant
            raise ValueError("must be a number, not true or false")
        return value

    @field_validator("segmenter", "profile")
    @classmethod
    def _names_are_lower(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else value.strip().lower()

    @model_validator(mode="after")
    def _lock_needs_a_reference(self) -> RunConfig:
        if self.lock_product and not self.refs:
            raise ValueError("lock_product needs a reference photo of the product in refs")
        return self

    @field_validator("review_timeout")
    @classmethod
    def _review_timeout_in_range(cls, value: float | None) -> float | None:
        if value is not None:
            _between(1, 7 * 24 * 3600, value, " seconds")
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_is_usable(cls, prompt: str) -> str:
        prompt = prompt.strip()
        if is_invisible(prompt):  # "", or only zero-width and other invisible characters
            raise ValueError("the prompt is empty: describe the image you want")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"the prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        return prompt

    @field_validator("refs", mode="before")
    @classmethod
    def _paths_are_text(cls, refs: Any) -> Any:
        if isinstance(refs, list | tuple):
            return tuple(str(ref) if isinstance(ref, Path) else ref for ref in refs)
        return refs

    @field_validator("max_iterations")
    @classmethod
    def _iterations_in_range(cls, value: int) -> int:
        _between(1, MAX_ITERATIONS_LIMIT, value)
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, value: int) -> int:
        _between(0, 100, value)
        return value

    @field_validator("candidates")
    @classmethod
    def _candidates_in_range(cls, value: int) -> int:
        _between(1, MAX_CANDIDATES, value)
        return value

    @field_validator("max_concurrency")
    @classmethod
    def _concurrency_in_range(cls, value: int) -> int:
        _between(1, 32, value)
        return value

    @field_validator("call_timeout")
    @classmethod
    def _timeout_in_range(cls, value: float) -> float:
        _between(1, 3600, value, " seconds")
        return value

    @field_validator("retry_budget")
    @classmethod
    def _retries_in_range(cls, value: int) -> int:
        _between(0, 100, value)
        return value

    @field_validator("profile")
    @classmethod
    def _profile_is_known(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            raise ValueError(f"{value!r} is not a profile (known: {', '.join(PROFILES)})")
        return value

    @field_validator("patience")
    @classmethod
    def _patience_in_range(cls, value: int) -> int:
        _between(0, MAX_ITERATIONS_LIMIT, value)
        return value

    @field_validator("max_cost")
    @classmethod
    def _cost_is_positive(cls, value: float | None) -> float | None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ValueError("must be a positive amount of US dollars")
        return value

    @field_serializer("refs")
    def _refs_as_text(self, refs: tuple[Reference, ...]) -> list[str]:
        """Stored and shown without credentials; in-memory images by size only."""
        return [
            f"<{len(ref)} bytes>" if isinstance(ref, bytes) else shown(ref) for ref in refs
        ]


def public_dump(config: RunConfig) -> dict[str, Any]:
    """The config as stored in run.json: no credentials inside any URL it carries."""
    dump = config.model_dump(mode="json")
    for options in dump["provider_options"].values():
        for key, value in options.items():
            if isinstance(value, str) and "://" in value:
                options[key] = shown(value)
    return dump


@dataclass(frozen=True)
class Installed:
    """What is installed here, by name: the names a RunConfig may use beyond its own rules."""

    providers: tuple[str, ...]
    components: dict[str, tuple[str, ...]]  # role -> component names
    segmenters: tuple[str, ...]
    broken: dict[str, str] = field(default_factory=dict)  # plugin name -> why it cannot load


def check_installed(config: RunConfig, installed: Installed, own: tuple[str, ...] = ()) -> None:
    """Raise one ValidationError naming every name in ``config`` that is not installed here
    (``own``: roles given as objects, not by name). Called when a Session resolves a run,
    before any folder is written."""
    found: list[InitErrorDetails] = []

    def unknown(loc: tuple[str, ...], value: str, known: tuple[str, ...], what: str) -> None:
        why = installed.broken.get(value)
        message = (
            f"{value!r} is installed but broken: {why}"
            if why
            else f"{value!r} is not an installed {what} (known: {', '.join(known) or 'none'})"
        )
        found.append(
            {"type": PydanticCustomError("not_installed", message), "loc": loc, "input": value}
        )

    chosen = config.providers
    if chosen.provider not in ("auto", *installed.providers) and len(own) < 3:
        unknown(("providers", "provider"), chosen.provider, ("auto", *installed.providers),
                "provider")
    for role in ("generator", "evaluator", "prompter"):
        name = getattr(chosen, role)
        known = installed.components.get(role, ())
        if name is not None and role not in own and name not in known:
            unknown(("providers", role), name, known, role)
    if config.segmenter is not None and config.segmenter not in installed.segmenters:
        unknown(("segmenter",), config.segmenter, installed.segmenters, "segmenter")
    if found:
        raise ValidationError.from_exception_data("RunConfig", found)


def problems(error: ValidationError) -> list[tuple[str, str]]:
    """Every problem of a ValidationError as (dotted field name, message), in model order."""
    found = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        found.append((field, message))
    return found
