"""A cut-out's edge colours freed of the backdrop it was cut from.

A PNG with alpha given as a reference still carries its old backdrop on the rim: the soft
edge's colour is a blend of product and backdrop (a green screen's green, a table's brown),
and a pixel or two inside the edge has the backdrop's spill. The backdrop is no longer in
the file, so its colour is estimated from the rim itself: where alpha is partial, the colour
is a·F + (1 - a)·B with F the product's colour just inside, so each such pixel gives one
estimate of B and their median is the backdrop. A coloured backdrop (a green screen) is
despilled: each edge pixel loses what it has of the backdrop's cast beyond what the product
nearby has (its level kept), which holds however the keyer set the alpha. A neutral one
(white, black) left lightness on the soft rim, which is solved for F. What is fully clear
takes the product's nearby colour (resampling would blend it into the rim).
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.alpha import CLEAR, OPAQUE
from agentic_image_gen.pixels.arrays import FloatImage, f32, u8

SPILL = 3  # pixels inside the edge that may carry the old backdrop's spill
MIXED = (0.1, 0.7)  # alpha range whose colour says most about the backdrop behind it
TRUSTED = 0.3  # alpha from which the rim's own colour can be solved for reliably
MIN_SPAN = 0.2  # a backdrop this close to the product's own colour left nothing to see
MIN_CAST = 0.08  # a backdrop's colour cast (off grey) from which it is despilled, not unmixed


def inside_colour(rgb: FloatImage, alpha: FloatImage) -> FloatImage:
    """The product's own colour near each pixel, from its opaque core (3+ px inside)."""
    core = f32(cv2.erode(u8(alpha >= OPAQUE), np.ones((2 * SPILL + 1,) * 2, np.uint8)))
    weight = f32(cv2.GaussianBlur(core, (0, 0), 4))
    colour = f32(cv2.GaussianBlur(rgb * core[..., None], (0, 0), 4))
    near = colour / np.maximum(weight, 1e-4)[..., None]
    fallback = rgb[alpha >= OPAQUE].mean(axis=0) if (alpha >= OPAQUE).any() else rgb.mean((0, 1))
    return f32(np.where((weight > 1e-3)[..., None], near, fallback))


def unmixed(rgb: FloatImage, alpha: FloatImage) -> FloatImage:
    """``rgb`` with its edge's old-backdrop colour removed (CPU-bound)."""
    solid = u8(alpha >= OPAQUE)
    if not solid.any():
        return rgb
    own = inside_colour(rgb, alpha)
    clean = rgb.copy()
    # Under full transparency the old backdrop is invisible, until resampling blends it into
    # the rim: those pixels take the product's nearby colour.
    clear = alpha <= CLEAR
    clean[clear] = own[clear]
    band = (alpha > CLEAR) & ~(cv2.erode(solid, np.ones((2 * SPILL + 1,) * 2, np.uint8)) > 0)
    mixed = band & (alpha > MIXED[0]) & (alpha < MIXED[1])
    if mixed.sum() < 16:
        return f32(clean)
    a = alpha[mixed][:, None]
    behind = f32(np.median((rgb[mixed] - a * own[mixed]) / (1.0 - a), axis=0).clip(0.0, 1.0))
    if float(np.median(np.abs(behind - own[mixed]).max(axis=1))) < MIN_SPAN:
        return f32(clean)  # the rim already is the product's colour: a clean cut-out
    cast = behind - behind.mean()
    strength = float((cast**2).sum())
    if np.sqrt(strength) >= MIN_CAST:
        # A coloured backdrop (a green screen): every edge pixel loses what it has of the
        # backdrop's cast beyond what the product nearby has; its mean level stays.
        def along(colours: FloatImage) -> FloatImage:
            chroma = colours - colours.mean(axis=-1, keepdims=True)
            return f32((chroma * cast).sum(axis=-1) / strength)

        excess = np.clip(along(rgb[band]) - along(own[band]), 0.0, None)
        clean[band] = np.clip(rgb[band] - excess[:, None] * cast, 0.0, 1.0)
        return f32(clean)
    # A neutral backdrop (white, black) left its lightness on the soft rim: solve
    # I = a·F + (1 - a)·B for F; where a is too small to say much, the nearby colour.
    rim = band & (alpha < OPAQUE)
    a = alpha[rim][:, None]
    solved = np.clip((rgb[rim] - (1.0 - a) * behind) / np.maximum(a, 0.1), 0.0, 1.0)
    trust = np.clip(a / TRUSTED, 0.0, 1.0)
    clean[rim] = solved * trust + own[rim] * (1.0 - trust)
    return f32(clean)
