"""Composing the shot: framing the product, the backdrop, its shadow or reflection.

Framing works on the product's solid box (alpha > 0.5): 'fill' is the box's larger side as
a fraction of the frame's matching side, and 'as shot' keeps the fraction and position the
product had in the reference photo, so the first turn shows what the photo's own framing
gives. Backdrops are neutral (R = G = B) so the evaluator's colour-cast check has a truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agentic_image_gen.pixels.alpha import cleared
from agentic_image_gen.pixels.arrays import ByteImage, FloatImage, f32, u8
from agentic_image_gen.pixels.boxes import Box, box
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.retouch import retouch
from agentic_image_gen.providers.local.vocabulary import StudioSettings, opaque_backdrop

MARGIN = 0.02  # the product never touches the frame's edge
SHADOW_STRENGTH = {"white": 0.30, "gradient": 0.38, "dark": 0.0}
REFLECTION_STRENGTH = 0.30
REFLECTION_LENGTH = 0.45  # of the product's height


@dataclass(frozen=True)
class Placed:
    """The retouched product at output scale, and where its crop's top-left corner lands."""

    rgb: FloatImage
    alpha: FloatImage
    left: int
    top: int
    box: Box  # solid box in frame pixels: left, top, right, bottom


def _body(alpha: FloatImage) -> Box:
    found = box(alpha)
    if found is None:
        raise ValueError("the cut-out shows no product")
    return found


def place(cut: Cutout, settings: StudioSettings, width: int, height: int) -> Placed:
    """Scale and position the product as the framing settings say, then retouch it."""
    x0, y0, x1, y1 = _body(cut.alpha)
    box_w, box_h = x1 - x0, y1 - y0
    fill = settings.fill if settings.fill is not None else max(cut.extent)
    scale = fill / max(box_w / width, box_h / height)
    scale = min(scale, (1 - 2 * MARGIN) / max(box_w / width, box_h / height))
    size = (max(1, round(cut.alpha.shape[1] * scale)), max(1, round(cut.alpha.shape[0] * scale)))
    method = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    rgb = f32(np.clip(cv2.resize(cut.rgb, size, interpolation=method), 0.0, 1.0))
    alpha = f32(np.clip(cv2.resize(cut.alpha, size, interpolation=method), 0.0, 1.0))
    alpha = cleared(alpha)
    rgb, alpha = retouch(rgb, alpha, settings, scale)
    centre_x, centre_y = (0.5, 0.5) if settings.centered else cut.centre
    out_w, out_h = box_w * scale, box_h * scale
    margin_x, margin_y = MARGIN * width, MARGIN * height
    box_left = min(max(centre_x * width - out_w / 2, margin_x), width - margin_x - out_w)
    box_top = min(max(centre_y * height - out_h / 2, margin_y), height - margin_y - out_h)
    left, top = round(box_left - x0 * scale), round(box_top - y0 * scale)
    bx0, by0, bx1, by1 = _body(alpha)
    return Placed(rgb, alpha, left, top, (left + bx0, top + by0, left + bx1, top + by1))


def _paste(canvas_shape: tuple[int, int], layer: FloatImage, left: int, top: int) -> FloatImage:
    """``layer`` (H x W or H x W x C) at (left, top) on a zero canvas, clipped to the frame."""
    height, width = canvas_shape
    out = np.zeros((height, width, *layer.shape[2:]), np.float32)
    lx0, ly0 = max(0, -left), max(0, -top)
    cx0, cy0 = max(0, left), max(0, top)
    w = min(layer.shape[1] - lx0, width - cx0)
    h = min(layer.shape[0] - ly0, height - cy0)
    if w > 0 and h > 0:
        out[cy0 : cy0 + h, cx0 : cx0 + w] = layer[ly0 : ly0 + h, lx0 : lx0 + w]
    return out


def backdrop(kind: str, width: int, height: int, placed: Placed) -> FloatImage:
    """A neutral backdrop: flat white, a soft grey gradient, or a dark studio floor."""
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    if kind == "white":
        tone = np.ones((height, width), np.float32)
    elif kind == "gradient":
        cx = (placed.box[0] + placed.box[2]) / 2 / width
        cy = (placed.box[1] + placed.box[3]) / 2 / height
        glow = np.exp(-(((xs - cx) / 0.45) ** 2 + ((ys - cy) / 0.5) ** 2))
        tone = f32(0.93 - 0.20 * ys + 0.05 * glow)
    else:
        horizon = placed.box[3] / height
        floor = np.clip((ys - horizon + 0.05) / 0.1, 0.0, 1.0)
        cx = (placed.box[0] + placed.box[2]) / 2 / width
        glow = np.exp(-(((xs - cx) / 0.35) ** 2 + ((ys - horizon + 0.25) / 0.4) ** 2))
        wall = 0.13 - 0.05 * ys + 0.07 * glow
        tone = f32(wall * (1 - floor) + (0.06 - 0.02 * ys) * floor)
    return np.repeat(np.broadcast_to(tone, (height, width))[..., None], 3, axis=2).copy()


def contact_shadow(width: int, height: int, placed: Placed, strength: float) -> FloatImage:
    """How much light the floor loses: a soft ellipse under the product's footprint."""
    left, top, right, bottom = placed.box
    box_h = bottom - top
    footprint = placed.alpha[max(0, bottom - placed.top - max(2, box_h // 8)) :, :]
    feet = box(footprint) if footprint.size else None
    if feet is not None:
        left, right = placed.left + feet[0], placed.left + feet[2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, half_w = (left + right) / 2, max(8.0, (right - left) * 0.55)
    half_h = max(4.0, box_h * 0.045)
    core = np.exp(-(((xs - cx) / half_w) ** 2 + ((ys - bottom) / half_h) ** 2) * 2.2)
    spread = np.exp(-(((xs - cx) / (half_w * 1.5)) ** 2 + ((ys - bottom) / (half_h * 3)) ** 2))
    return np.asarray(strength * (0.75 * core + 0.25 * spread), dtype=np.float32)


def reflection(width: int, height: int, placed: Placed) -> tuple[FloatImage, FloatImage]:
    """The product mirrored below its base, fading out: what a glossy dark floor shows."""
    bottom_in_layer = placed.box[3] - placed.top
    rgb = placed.rgb[:bottom_in_layer][::-1]
    alpha = placed.alpha[:bottom_in_layer][::-1]
    length = max(1.0, REFLECTION_LENGTH * (placed.box[3] - placed.box[1]))
    fade = np.clip(1.0 - np.arange(alpha.shape[0], dtype=np.float32) / length, 0.0, 1.0) ** 2
    alpha = f32(cv2.GaussianBlur(alpha * fade[:, None] * REFLECTION_STRENGTH, (0, 0), 1.5))
    rgb = f32(cv2.GaussianBlur(np.ascontiguousarray(rgb), (0, 0), 1.5))
    top = placed.box[3]
    return _paste((height, width), rgb, placed.left, top), _paste(
        (height, width), alpha, placed.left, top
    )


def compose(
    cut: Cutout, settings: StudioSettings, width: int, height: int, transparent: bool
) -> ByteImage:
    """The finished frame: RGBA (alpha 0 outside the product) or RGB on the backdrop.

    A transparent frame has no shadow or reflection: those would be alpha outside the
    product, and a shop's page draws its own."""
    placed = place(cut, settings, width, height)
    rgb = _paste((height, width), placed.rgb, placed.left, placed.top)
    alpha = _paste((height, width), placed.alpha, placed.left, placed.top)
    if transparent:
        out = np.concatenate([rgb * (alpha[..., None] > 0), alpha[..., None]], axis=2)
        return u8(np.clip(out, 0.0, 1.0) * 255 + 0.5)
    kind = opaque_backdrop(settings.backdrop)
    frame = backdrop(kind, width, height, placed)
    if settings.shadow and SHADOW_STRENGTH[kind] > 0:
        frame *= 1.0 - contact_shadow(width, height, placed, SHADOW_STRENGTH[kind])[..., None]
    if kind == "dark":
        mirrored, mirrored_alpha = reflection(width, height, placed)
        frame = frame * (1 - mirrored_alpha[..., None]) + mirrored * mirrored_alpha[..., None]
    a = alpha[..., None]
    frame = frame * (1 - a) + rgb * a
    return u8(np.clip(frame, 0.0, 1.0) * 255 + 0.5)
