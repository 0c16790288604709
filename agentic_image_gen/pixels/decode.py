"""Encoded bytes to the floats every measure reads: one decoder for the evaluator's
measurements, the cut-out, the fidelity figure and delivery.

Every image is normalised as a person sees it (upright, 8-bit, sRGB: inputs/normalise), and its
backdrop is modelled at most once, when a measure first asks for it.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from agentic_image_gen.inputs.imaging import NotAnImage
from agentic_image_gen.inputs.normalise import normalise
from agentic_image_gen.pixels.alpha import uses_alpha
from agentic_image_gen.pixels.arrays import FloatImage, channel_max
from agentic_image_gen.pixels.backdrop import backdrop_model


@dataclass(frozen=True, eq=False)
class Decoded:
    """The image's real format and mode; the size, colour and alpha channel (None when the
    file has none) of its normalised pixels."""

    format: str
    mode: str
    width: int
    height: int
    rgb: FloatImage
    alpha: FloatImage | None

    @property
    def transparent(self) -> bool:
        """Whether the image really uses its alpha channel: then it says where the product is."""
        return uses_alpha(self.alpha)

    @property
    def rgba(self) -> FloatImage:
        alpha = self.alpha if self.alpha is not None else np.ones(self.rgb.shape[:2], np.float32)
        return np.dstack([self.rgb, alpha])

    @functools.cached_property
    def backdrop(self) -> FloatImage:
        """The backdrop as fitted to the frame's border (see pixels/backdrop.py), made once."""
        return backdrop_model(self.rgb)

    @functools.cached_property
    def distance(self) -> FloatImage:
        """Each pixel's largest channel difference from the fitted backdrop (0..1)."""
        return channel_max(np.abs(self.rgb - self.backdrop))


def decode(data: bytes) -> Decoded:
    """Raises NotAnImage when the bytes are not a whole, readable image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            pixels = normalise(image)[0]
            has_alpha = pixels.mode in ("RGBA", "LA", "PA") or "transparency" in pixels.info
            rgba = np.asarray(pixels.convert("RGBA"), dtype=np.float32) / np.float32(255)
            return Decoded(
                format=image.format or "",
                mode=image.mode,
                width=pixels.width,
                height=pixels.height,
                rgb=np.ascontiguousarray(rgba[..., :3]),
                alpha=np.ascontiguousarray(rgba[..., 3]) if has_alpha else None,
            )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(f"not a readable image ({exc})") from exc
