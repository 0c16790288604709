"""The ``studio`` generator: a product-shot compositor that needs no model and no network.

It cuts the product out of the first reference photo and composes a shop-ready frame from
the prompt's vocabulary (see vocabulary.py). The continuation token it returns holds the
whole settings of the turn, so a later turn (or a resumed run in a new process) starts from
them and applies only what its prompt says, as ``previous_response_id`` does for OpenAI.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from agentic_image_gen.core.errors import InputError, ProviderError
from agentic_image_gen.core.types import (
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    Quality,
)
from agentic_image_gen.pixels.encode import encode
from agentic_image_gen.pixels.placement import frame_size
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local import vocabulary
from agentic_image_gen.providers.local.alone import product_alone
from agentic_image_gen.providers.local.compose import compose
from agentic_image_gen.providers.local.cutout import Cutout, cutout_for
from agentic_image_gen.providers.local.cutting import prepare_cutting
from agentic_image_gen.providers.local.vocabulary import StudioSettings

TOKEN_PREFIX = "studio:v1:"
_LOSSY_QUALITY = {
    Quality.LOW: 80, Quality.MEDIUM: 88, Quality.AUTO: 92, Quality.HIGH: 94,
    Quality.XHIGH: 96, Quality.MAX: 98,
}
NEEDS_REFERENCE = (
    "the offline studio generator needs a photo of the product: pass --refs PATH_OR_URL, "
    "or set OPENAI_API_KEY to use the OpenAI providers (or choose a local model provider "
    "with --generator)"
)


def encode_token(settings: StudioSettings) -> str:
    """``studio:v1:`` + URL-safe base64 of compact JSON: self-contained, no server state."""
    payload = json.dumps(settings.model_dump(), separators=(",", ":"), sort_keys=True)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str) -> StudioSettings:
    """The settings inside a token this generator made; anything else is a ProviderError."""
    if not token.startswith(TOKEN_PREFIX):
        raise ProviderError(f"the studio cannot continue from {token[:40]!r}: not a studio token")
    body = token[len(TOKEN_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return vocabulary.settings_from_dict(json.loads(raw))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ProviderError(f"the studio's continuation token is damaged ({exc})") from exc


def describe(settings: StudioSettings, transparent: bool) -> str:
    """What the studio did, in vocabulary phrases (the generator's revised prompt)."""
    backdrop = "transparent" if transparent else vocabulary.opaque_backdrop(settings.backdrop)
    parts = [
        vocabulary.canonical("backdrop", backdrop=backdrop),
        vocabulary.fill_phrase(settings.fill) if settings.fill is not None else "framing as shot",
        "centered" if settings.centered else "position as shot",
    ]
    as_shot = StudioSettings()
    for slot in ("exposure", "light", "warmth", "sharpen", "brilliance", "edges"):
        value = getattr(settings, slot)
        if value != getattr(as_shot, slot):
            parts.append(vocabulary.canonical(slot, **{slot: value}))
    if not transparent:
        parts.append(vocabulary.canonical("shadow", shadow=settings.shadow))
    return ", ".join(parts)


def render(cut: Cutout, settings: StudioSettings, image: ImageSettings) -> tuple[bytes, int, int]:
    """Compose and encode one frame (CPU-bound: run it in a thread)."""
    width, height = frame_size(image)
    transparent = vocabulary.wants_transparent(image, settings.backdrop)
    pixels = compose(cut, settings, width, height, transparent)
    quality = _LOSSY_QUALITY[image.quality]
    return encode(pixels, image.output_format, quality, quick=True), width, height


class StudioGenerator:
    """Offline product shots from a reference photo; one instance lives for one run."""

    uses_product = True  # paints the reference's product into every shot

    def __init__(self, shared: dict[str, Any]) -> None:
        self._shared = shared

    @classmethod
    async def create(cls, context: ProviderContext) -> StudioGenerator:
        if not context.config.refs:
            raise InputError(NEEDS_REFERENCE)
        return cls(await prepare_cutting(context))

    def variants(self, request: GenerationRequest) -> int:
        """How many different pictures a round of ``request`` can hold (the loop makes no
        more candidates than that)."""
        previous = decode_token(request.context) if request.context else StudioSettings()
        settings = vocabulary.apply(previous, request.prompt)
        locked = request.locked is not None
        return len(vocabulary.candidates(settings, request.prompt, request.settings, locked))

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        if not request.references:
            raise InputError(NEEDS_REFERENCE)
        previous = decode_token(request.context) if request.context else StudioSettings()
        settings = vocabulary.apply(previous, request.prompt)
        # A locked product's pixels stay the photo's: no retouching, only the scene varies.
        locked = request.locked is not None
        settings = vocabulary.explore(
            settings, request.prompt, request.variant, request.settings, locked
        )
        reference = request.references[0]
        cut = await cutout_for(reference, self._shared)
        # Painted while the cut is checked to hold the product alone (a refusal drops it).
        (data, width, height), _ = await asyncio.gather(
            asyncio.to_thread(render, cut, settings, request.settings),
            product_alone(reference, self._shared),
        )
        transparent = vocabulary.wants_transparent(request.settings, settings.backdrop)
        return GeneratedImage(
            data=data,
            output_format=request.settings.output_format,
            width=width,
            height=height,
            context=encode_token(settings),
            revised_prompt=describe(settings, transparent),
        )
