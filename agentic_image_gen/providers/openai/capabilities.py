"""What each OpenAI image model can do, so an impossible request is refused before any call.

From the openai SDK's documentation of the ``image_generation`` tool and ``images.generate``
(3.57): custom ``WIDTHxHEIGHT`` sizes only on gpt-image-2 and the gpt-image-2.5 family;
``xhigh`` and ``max`` quality only on the gpt-image-2.5 family; ``input_fidelity`` only on
gpt-image-1.5 (and ``low`` on gpt-image-1-mini); transparent backgrounds need PNG or WebP.
gpt-image-1 is shut down and the DALL-E models are retired. A model missing from the table
(a newer one, or another server's) is not checked: the API answers for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import STANDARD_SIZES, Background, ImageSettings
from agentic_image_gen.core.usage import model_family

BASIC_QUALITIES = frozenset({"low", "medium", "high", "auto"})
ALL_QUALITIES = BASIC_QUALITIES | {"xhigh", "max"}
FORMATS = frozenset({"png", "jpeg", "webp"})


@dataclass(frozen=True)
class ImageModelCapabilities:
    custom_sizes: bool = False
    qualities: frozenset[str] = BASIC_QUALITIES
    transparent: bool = True
    input_fidelity: frozenset[str] = frozenset()
    formats: frozenset[str] = FORMATS
    gone: str = ""  # why the model can no longer be used, if it cannot


_CUSTOM_AND_EXTRA = ImageModelCapabilities(custom_sizes=True, qualities=ALL_QUALITIES)
CAPABILITIES: dict[str, ImageModelCapabilities] = {
    "gpt-image-2.5-sunburst": _CUSTOM_AND_EXTRA,
    "gpt-image-2.5-flare": _CUSTOM_AND_EXTRA,
    "gpt-image-2.6-sunburst": ImageModelCapabilities(),
    "gpt-image-2.6-flare": ImageModelCapabilities(),
    "gpt-image-2": ImageModelCapabilities(custom_sizes=True),  # transparency in preview
    "gpt-image-1.5": ImageModelCapabilities(input_fidelity=frozenset({"high", "low"})),
    "gpt-image-1-mini": ImageModelCapabilities(input_fidelity=frozenset({"low"})),
    "chatgpt-image-latest": ImageModelCapabilities(),
    "gpt-image-1": ImageModelCapabilities(
        gone="was shut down on October 23, 2026 (use gpt-image-2.5-sunburst or -flare)"
    ),
    "dall-e-3": ImageModelCapabilities(gone="is retired and not an image_generation tool model"),
    "dall-e-2": ImageModelCapabilities(gone="is retired and not an image_generation tool model"),
}


def capabilities_of(model: str) -> ImageModelCapabilities | None:
    return CAPABILITIES.get(model) or CAPABILITIES.get(model_family(model))


def _having(check: str) -> str:
    names = [name for name, caps in CAPABILITIES.items() if getattr(caps, check) and not caps.gone]
    return ", ".join(names)


def check_image_request(model: str, settings: ImageSettings, input_fidelity: str | None) -> None:
    """Refuse (exit 2, one line naming the model and the value) what ``model`` cannot do."""
    caps = capabilities_of(model)
    if caps is None:
        return
    problem = ""
    if caps.gone:
        problem = caps.gone
    elif settings.size not in STANDARD_SIZES and not caps.custom_sizes:
        problem = (
            f"does not take custom sizes (--size {settings.size}); use auto, 1024x1024, "
            f"1024x1536 or 1536x1024, or a model that does: {_having('custom_sizes')}"
        )
    elif settings.quality.value not in caps.qualities:
        problem = (
            f"does not support --quality {settings.quality.value} "
            f"(it takes {', '.join(sorted(caps.qualities))})"
        )
    elif settings.background is Background.TRANSPARENT and not caps.transparent:
        problem = "cannot make transparent backgrounds (use --background opaque or auto)"
    elif settings.output_format.value not in caps.formats:
        problem = f"cannot write --format {settings.output_format.value}"
    elif input_fidelity is not None and input_fidelity not in caps.input_fidelity:
        problem = f"does not take input_fidelity {input_fidelity} (only gpt-image-1.5 does" + (
            "; gpt-image-1-mini takes low)"
        )
    if problem:
        raise InputError(f"image model {model} {problem}")
