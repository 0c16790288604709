"""The data that flows through the loop. Providers and the loop share these and nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from agentic_image_gen.core.checklist import Requirement, RequirementResult

if TYPE_CHECKING:  # Pillow is not imported for --help
    from PIL.Image import Image as PILImage


class Quality(StrEnum):
    AUTO = "auto"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"  # only some image models (the provider's capability table says which)
    MAX = "max"


class Background(StrEnum):
    AUTO = "auto"
    OPAQUE = "opaque"
    TRANSPARENT = "transparent"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value

    @property
    def pil_format(self) -> str:
        return self.value.upper()


STANDARD_SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")
_SIZE_PATTERN = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def validate_size(size: str) -> str:
    """Accept the standard sizes and any WIDTHxHEIGHT the newer image models take."""
    size = size.strip().lower()
    if size in STANDARD_SIZES:
        return size
    match = _SIZE_PATTERN.match(size)
    if not match:
        raise ValueError(
            f"{size!r} is not 'auto' or WIDTHxHEIGHT (e.g. {', '.join(STANDARD_SIZES[1:])})"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width % 16 or height % 16:
        raise ValueError(f"{size}: width and height must both be divisible by 16")
    if max(width, height) > 3 * min(width, height):
        raise ValueError(f"{size}: the aspect ratio must be between 1:3 and 3:1")
    if max(width, height) > 3840 or min(width, height) > 2160:
        raise ValueError(f"{size}: the largest supported size is 3840x2160 (or 2160x3840)")
    return f"{width}x{height}"


class ImageSettings(BaseModel):
    """What the user asked of every image: passed unchanged to the generator each turn."""

    model_config = ConfigDict(frozen=True)

    quality: Quality = Quality.HIGH
    size: str = "1024x1024"
    background: Background = Background.TRANSPARENT
    output_format: OutputFormat = OutputFormat.PNG

    @field_validator("size")
    @classmethod
    def _size_is_supported(cls, size: str) -> str:
        return validate_size(size)

    @model_validator(mode="after")
    def _format_supports_background(self) -> ImageSettings:
        if self.background is Background.TRANSPARENT and self.output_format is OutputFormat.JPEG:
            raise ValueError(
                "background 'transparent' needs output_format 'png' or 'webp' (JPEG has no "
                "transparency)"
            )
        return self

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height), or None for ``auto``."""
        if self.size == "auto":
            return None
        width, height = self.size.split("x")
        return int(width), int(height)


# A reference's largest file: a medium-format camera's JPEG (up to inputs/imaging.MAX_PIXELS)
# fits. Every way in (a path, a download, a web upload) is capped by it.
MAX_REFERENCE_BYTES = 100 * 2**20


@dataclass(frozen=True)
class ReferenceImage:
    """A reference image loaded and checked once; providers decide how to send it."""

    source: str
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class LockedScene:
    """A product locked in place (``--lock-product``): the generator paints only the scene.

    ``canvas`` is a PNG of the output size with the reference's own product pixels at their
    place and transparency elsewhere; ``mask`` a PNG whose opaque pixels protect the product
    and whose transparent ones are the scene to paint (OpenAI's ``input_image_mask``)."""

    canvas: bytes
    mask: bytes


@dataclass(frozen=True)
class GenerationRequest:
    """One generation turn.

    ``context`` is the opaque continuation token of the previous turn (OpenAI's response id, a
    local model's settings); the loop passes it back without reading it. ``references`` come
    with every turn: a provider whose context already holds them must not send them again.
    ``variant`` says which candidate of its round this is (0 for the first): a deterministic
    provider uses it to try something different; a sampling model varies anyway.
    ``previous_image`` is the file of the image ``context`` continues from: a provider that
    cannot continue on its server (an account that stores nothing) sends that image back.
    ``locked``, when set, is the product in place: paint the scene around it, not the product.
    """

    prompt: str
    settings: ImageSettings
    references: tuple[ReferenceImage, ...] = ()
    context: str | None = None
    variant: int = 0
    previous_image: str | None = None
    locked: LockedScene | None = None


@dataclass(frozen=True)
class RegionEditRequest:
    """A person's region edit: repaint ``image`` where ``mask`` is transparent, as ``prompt``
    says, and keep the rest. ``mask`` is a PNG of the image's size whose opaque pixels are
    kept (the convention of LockedScene's mask and OpenAI's ``input_image_mask``)."""

    prompt: str
    image: bytes
    mime_type: str
    mask: bytes
    settings: ImageSettings
    references: tuple[ReferenceImage, ...] = ()


@dataclass(frozen=True)
class GeneratedImage:
    """Decoded and checked image bytes, not yet on disk."""

    data: bytes
    output_format: OutputFormat
    width: int
    height: int
    context: str | None = None
    revised_prompt: str | None = None
    # The pixels, when the provider decoded them to check the bytes: evaluators reuse them
    # instead of decoding again on the critical path.
    pixels: PILImage | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EvaluationRequest:
    """What an evaluator may look at: the image, the user's request, and what was asked."""

    image: GeneratedImage
    prompt: str
    original_prompt: str
    settings: ImageSettings
    references: tuple[ReferenceImage, ...] = ()
    # The run's checklist (once derived): every image is judged against the same list.
    checklist: tuple[Requirement, ...] = ()
    # The product is locked (--lock-product): a critique asks for no retouch of it.
    locked: bool = False


@dataclass(frozen=True)
class Comparison:
    """A pairwise tie-break: ``winner`` is 0 for the first image, 1 for the second."""

    winner: int
    reason: str


class TieBreak(BaseModel):
    """A recorded tie-break between iterations whose scores were within the margin."""

    iterations: list[int]
    winner: int
    reason: str


class Evaluation(BaseModel):
    """A score and a critique, plus what other roles may act on, typed: the checklist's
    per-requirement judgements and concrete fixes (phrases a prompter can add, worst problem
    first). ``details`` holds an evaluator's own numbers, shown in the report, read by no role."""

    score: int = Field(ge=0, le=100)
    feedback: str
    requirements: list[RequirementResult] | None = None
    fixes: list[str] | None = None  # None: this evaluator gives none (read the feedback)
    details: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_journal_v1(cls, data: Any) -> Any:
        """Journals before typed fields kept requirements and fixes inside ``details``."""
        if isinstance(data, dict) and isinstance(data.get("details"), dict):
            details = dict(data["details"])
            data = dict(data)
            if "requirements" not in data and isinstance(details.get("requirements"), list):
                data["requirements"] = details.pop("requirements")
            if "fixes" not in data and isinstance(details.get("fixes"), list):
                data["fixes"] = details.pop("fixes")
            data["details"] = details
        return data


class Iteration(BaseModel):
    """One image, its evaluation and its ids: the unit of history and of the journal."""

    index: int
    round: int = 1
    candidate: int = 1
    prompt: str
    image_path: str
    width: int
    height: int
    output_format: OutputFormat
    context: str | None = None
    revised_prompt: str | None = None
    evaluation: Evaluation | None = None
    # The product against the reference's cut-out (engine/fidelity.py), when there is one.
    fidelity: Fidelity | None = None
    generation_seconds: float = 0.0
    evaluation_seconds: float = 0.0

    @property
    def score(self) -> int:
        return self.evaluation.score if self.evaluation else -1

    @classmethod
    def made(
        cls, image: GeneratedImage, *, index: int, round: int, candidate: int, prompt: str,
        image_path: str, seconds: float,
    ) -> Iteration:
        """The iteration of an image just made (not yet evaluated); ``seconds`` it took."""
        return cls(
            index=index,
            round=round,
            candidate=candidate,
            prompt=prompt,
            image_path=image_path,
            width=image.width,
            height=image.height,
            output_format=image.output_format,
            context=image.context,
            revised_prompt=image.revised_prompt,
            generation_seconds=seconds,
        )


class Fidelity(BaseModel):
    """The product in an image against the reference's cut-out (engine/fidelity.py): 1.0,
    0.0 and 1.0 mean the very same pixels."""

    ssim: float
    delta_e: float
    # ΔE split: lightness (signed, + lighter) and colour at matched lightness (None in runs
    # measured before they existed).
    delta_l: float | None = None
    delta_ab: float | None = None
    shape_iou: float


class RuleResult(BaseModel):
    """One marketplace rule, checked on the delivered file."""

    rule: str
    passed: bool
    measured: str
    expected: str


class Delivery(BaseModel):
    """The file made for a marketplace profile from the best image, and its rule checks.
    ``model_rules`` are the profile's rules only a model can judge (text, logos, ...): they
    were part of the brief every evaluator scored against."""

    profile: str
    path: str
    width: int
    height: int
    format: str
    changes: list[str] = Field(default_factory=list)
    rules: list[RuleResult] = Field(default_factory=list)
    model_rules: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def compliant(self) -> bool:
        return all(rule.passed for rule in self.rules)
