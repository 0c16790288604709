"""Cut the product out of a reference photo: its own alpha channel, or a segmenter.

An opaque photo goes to the run's segmenter (segment/: a learned model or the classical
GrabCut, chosen by name), whose map is refined into a whole product with a soft edge. One
cut-out per reference and segmenter is made per run (and kept by the process: memo.py), which
the studio and the evaluator both use, and it records which segmenter made it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from agentic_image_gen.core.errors import ProviderError, UnusableReference
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.pixels.alpha import cleared
from agentic_image_gen.pixels.arrays import FloatImage
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.pixels.decode import decode
from agentic_image_gen.pixels.unmix import unmixed
from agentic_image_gen.providers.local.memo import once
from agentic_image_gen.providers.local.segment import Segmenter, pool_for, segmenter_name
from agentic_image_gen.providers.local.segment.marks import without_marks
from agentic_image_gen.providers.local.segment.refine import refine
from agentic_image_gen.providers.local.segment.registry import NAME_KEY

ALPHA_CHANNEL = "alpha-channel"  # the reference's own transparency, no segmenter ran
CACHE_KEY = "local.cutouts"


@dataclass(frozen=True)
class Cutout:
    """The product alone: straight (unpremultiplied) sRGB colour and alpha, cropped.

    ``centre`` and ``extent`` are the product's box in the reference as fractions of its width
    and height, which is what 'as shot' framing keeps. ``origin`` is the crop's top-left
    corner in the reference and ``source_size`` its (width, height), so a check can map the
    cut-out back onto the photo. ``segmenter`` names what made the mask.
    """

    rgb: FloatImage
    alpha: FloatImage
    centre: tuple[float, float]
    extent: tuple[float, float]
    from_alpha_channel: bool
    segmenter: str = ALPHA_CHANNEL
    origin: tuple[int, int] = (0, 0)
    source_size: tuple[int, int] = (0, 0)


def segment(rgb: FloatImage, segmenter: Segmenter) -> tuple[FloatImage, FloatImage]:
    """(alpha, edge-decontaminated rgb) of the product in an opaque photo; a shop's mark in a
    corner is painted out first (marks.py), so neither the segmenter nor the refinement
    sees it."""
    rgb = without_marks(rgb)
    return refine(rgb, segmenter.segment(rgb), coarse=segmenter.coarse)


def cut_out(data: bytes, segmenter: Segmenter | Callable[[], Segmenter]) -> Cutout:
    """The product of one reference image (CPU-bound: call it in a thread). ``segmenter``
    may be a loader, called only when the image has no alpha channel of its own."""
    image = decode(data)
    rgb, from_alpha, name = image.rgb, image.transparent, ALPHA_CHANNEL
    if image.transparent:
        assert image.alpha is not None
        alpha = image.alpha
        rgb = unmixed(rgb, alpha)  # a cut-out's rim still carries the backdrop it was cut from
    else:
        if callable(segmenter):
            segmenter = segmenter()
        alpha, rgb = segment(rgb, segmenter)
        name = segmenter.name
    alpha = cleared(alpha)
    height, width = alpha.shape
    body, visible = box(alpha), box(alpha, 0.0)
    if body is None or visible is None:
        raise UnusableReference(
            "the reference image has no visible product (it is all transparent)"
        )
    left, top, right, bottom = body
    centre = ((left + right) / 2 / width, (top + bottom) / 2 / height)
    extent = ((right - left) / width, (bottom - top) / height)
    x0, y0, x1, y1 = visible
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return Cutout(
        rgb=crop,
        alpha=np.ascontiguousarray(alpha[y0:y1, x0:x1]),
        centre=(float(centre[0]), float(centre[1])),
        extent=(float(extent[0]), float(extent[1])),
        from_alpha_channel=from_alpha,
        segmenter=name,
        origin=(int(x0), int(y0)),
        source_size=(width, height),
    )


def cut_key(reference: ReferenceImage, shared: dict[str, Any]) -> str:
    """Which cut ``reference`` has: its segmenter's weights and its bytes' hash."""
    weights = pool_for(shared).weights(shared.get(NAME_KEY))
    return f"{weights}:{hashlib.sha256(reference.data).hexdigest()}"


async def cutout_for(reference: ReferenceImage, shared: dict[str, Any]) -> Cutout:
    """The cut-out of ``reference`` for this run, computed once in a worker thread (memo.py).

    The segmenter is the one named in ``shared[NAME_KEY]`` (the run's, resolved by
    the session), else ``auto``; the pool in ``shared`` loads it when a cut needs it."""
    pool = pool_for(shared)
    name = segmenter_name(shared.get(NAME_KEY))
    work = functools.partial(cut_out, reference.data, functools.partial(pool.get, name))
    try:
        key = cut_key(reference, shared)
        return await once(shared, CACHE_KEY, key, work)
    except UnusableReference as exc:
        raise UnusableReference(f"reference {reference.source!r}: {exc}") from exc
    except ProviderError:
        raise
    except (OSError, ValueError, cv2.error) as exc:
        raise ProviderError(f"could not cut the product out of {reference.source}: {exc}") from exc
