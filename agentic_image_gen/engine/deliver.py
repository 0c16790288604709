"""The final, deterministic pass of a marketplace profile: make the best image a file the
shop accepts (what needs no model: background, fill, size, aspect, colour space, format),
then check every measurable rule on the file actually delivered.

The product is found by its alpha channel, or else by its difference from the backdrop's
colour (estimated on the frame's border); a white-background profile composites it onto
RGB 255 with that soft mask, so edges stay smooth and the backdrop is exactly white.
"""

from __future__ import annotations

import asyncio
import functools
import io
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms

from agentic_image_gen.core.profiles import Profile
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Delivery, RuleResult
from agentic_image_gen.inputs.normalise import normalise
from agentic_image_gen.store.run_store import RunStore

Array = NDArray[np.float32]
SOFT_LOW, SOFT_HIGH = 0.04, 0.14  # colour distance from the backdrop: 0 -> 1 product weight


@functools.cache
def _srgb_profile() -> bytes:
    """The sRGB ICC profile embedded in delivered files (made once, when first needed)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def rgba_of(data: bytes) -> tuple[Array, bool]:
    """Straight RGBA floats, normalised as every image we measure is (upright, 8-bit, sRGB);
    whether the file had a real alpha channel."""
    image, _changed = normalise(Image.open(io.BytesIO(data)))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    pixels = np.asarray(image.convert("RGBA"), np.float32) / 255.0
    return pixels, has_alpha and float(pixels[..., 3].min()) < 0.999


def border_colour(rgb: Array) -> Array:
    edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    result: Array = np.median(edge, axis=0).astype(np.float32)
    return result


def backdrop_model(rgb: Array) -> Array:
    """The backdrop as a smooth surface (a quadratic in x and y per channel) fitted to the
    frame's border: a studio gradient or a vignette is backdrop too, not product."""
    height, width = rgb.shape[:2]
    band = max(4, round(0.02 * min(height, width)))
    ys, xs = np.mgrid[0:height, 0:width]
    edge = np.zeros((height, width), bool)
    edge[:band], edge[-band:], edge[:, :band], edge[:, -band:] = True, True, True, True
    step = max(1, int(edge.sum()) // 20000)

    def terms(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1)

    sx = xs[edge][::step] / width
    sy = ys[edge][::step] / height
    samples = rgb[edge][::step].astype(np.float64)
    coefficients, *_ = np.linalg.lstsq(terms(sx, sy), samples, rcond=None)
    grid = terms(xs / width, ys / height)
    fitted: Array = np.clip(grid @ coefficients, 0.0, 1.0).astype(np.float32)
    return fitted


def product_weight(pixels: Array, has_alpha: bool, backdrop: Array | None = None) -> Array:
    """0 (backdrop) to 1 (product) per pixel; ``backdrop`` is the fitted backdrop when the
    caller already has it."""
    if has_alpha:
        return pixels[..., 3].copy()
    rgb = pixels[..., :3]
    fitted = backdrop_model(rgb) if backdrop is None else backdrop
    distance = np.abs(rgb - fitted).max(axis=2)
    weight = np.clip((distance - SOFT_LOW) / (SOFT_HIGH - SOFT_LOW), 0.0, 1.0)
    # Specks of sensor noise or texture are not product: keep components of real size.
    solid = (weight > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(16, solid.size // 20000)
    grown = cv2.dilate(keep[labels].astype(np.uint8), np.ones((5, 5), np.uint8))
    result: Array = (weight * grown).astype(np.float32)
    return result


def _box(weight: Array) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(weight > 0.5)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def fill_of(weight: Array) -> float:
    box = _box(weight)
    if box is None:
        return 0.0
    height, width = weight.shape
    return float(max((box[2] - box[0]) / width, (box[3] - box[1]) / height))


def _canvas_size(profile: Profile, width: int, height: int) -> tuple[int, int]:
    if profile.target is not None:
        return profile.target
    if profile.aspects:
        w, h = profile.aspects[0]
        return (
            (width, round(width * h / w))
            if width / height < w / h
            else (round(height * w / h), height)
        )
    return width, height


def _reframe(pixels: Array, weight: Array, profile: Profile) -> tuple[Array, Array]:
    """Scale and place the product at the profile's fill, centred, on the target canvas;
    what lies outside the source is backdrop (weight 0)."""
    height, width = weight.shape
    out_w, out_h = _canvas_size(profile, width, height)
    box = _box(weight)
    target = profile.fill_target
    if box is None or target is None:
        scale = max(out_w / width, out_h / height)  # cover the canvas, keep the framing
        centre = (width / 2, height / 2)
    else:
        box_w, box_h = box[2] - box[0], box[3] - box[1]
        scale = target / max(box_w / out_w, box_h / out_h)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    matrix = np.array(
        [[scale, 0, out_w / 2 - centre[0] * scale], [0, scale, out_h / 2 - centre[1] * scale]],
        np.float32,
    )
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    size = (out_w, out_h)
    moved = cv2.warpAffine(
        pixels, matrix, size, flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )
    moved_weight = cv2.warpAffine(
        weight, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return np.clip(moved, 0, 1), np.clip(moved_weight, 0, 1)


def _is_light(colour: Array) -> bool:
    return float(colour.mean()) >= 0.85 and float(colour.max() - colour.min()) <= 0.08


def conform(data: bytes, profile: Profile, output_format: str) -> tuple[bytes, str, list[str]]:
    """The delivered file's bytes and format, and what the pass changed (in words)."""
    pixels, has_alpha = rgba_of(data)
    weight = product_weight(pixels, has_alpha)
    changes: list[str] = []
    before, (source_h, source_w) = fill_of(weight), weight.shape
    pixels, weight = _reframe(pixels, weight, profile)
    height, width = weight.shape
    if profile.fill is not None and not profile.fill[0] <= before <= profile.fill[1]:
        changes.append(f"reframed: the product filled {before:.0%}, now {fill_of(weight):.0%}")
    if (width, height) != (source_w, source_h):
        changes.append(f"resized from {source_w}x{source_h} to {width}x{height} px")
    rgb, alpha = pixels[..., :3], pixels[..., 3:]
    backdrop = border_colour(rgb) if not has_alpha else np.ones(3, np.float32)
    keep_alpha = has_alpha and profile.transparency and output_format in ("png", "webp")
    if profile.background == "white" or (
        profile.background == "light" and not (_is_light(backdrop) and not has_alpha)
    ):
        mix = weight[..., None] * (alpha if has_alpha else 1.0)
        rgb = rgb * mix + (1.0 - mix)
        # What is as good as white is white: no faint veil the rule (and a shop) would see.
        rgb[np.abs(1.0 - rgb).max(axis=2) < SOFT_LOW + 0.01] = 1.0
        changes.append("backdrop made pure white (RGB 255)")
        keep_alpha = False
    elif has_alpha and not keep_alpha:
        rgb = rgb * alpha + (1.0 - alpha)
        changes.append("transparency flattened onto white")
    fmt = output_format if output_format in profile.formats else profile.formats[0]
    if fmt != output_format:
        changes.append(f"saved as {fmt.upper()} (the marketplace does not take {output_format})")
    channels = np.dstack([rgb, alpha]) if keep_alpha else rgb
    image = Image.fromarray(
        np.round(channels * 255).astype(np.uint8), "RGBA" if keep_alpha else "RGB"
    )
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=95, icc_profile=_srgb_profile())
    elif fmt == "webp":
        image.save(out, "WEBP", quality=95, icc_profile=_srgb_profile())
    else:
        image.save(out, "PNG", icc_profile=_srgb_profile())
    return out.getvalue(), fmt, changes


def check_rules(data: bytes, profile: Profile) -> list[RuleResult]:
    """Every measurable rule of ``profile`` on the file as delivered."""
    image = Image.open(io.BytesIO(data))
    fmt = (image.format or "").lower()
    width, height = image.size
    icc = image.info.get("icc_profile")
    colour_space = "sRGB" if image.mode in ("RGB", "RGBA", "L") else image.mode
    if icc:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
        colour_space = "sRGB" if "srgb" in description.lower() else description.strip()
    pixels, has_alpha = rgba_of(data)
    weight = product_weight(pixels, has_alpha)
    results = [
        _rule("format", fmt in profile.formats, fmt or "unknown", " or ".join(profile.formats)),
        _rule("colour space", colour_space == "sRGB", colour_space, "sRGB"),
        _size_rule(profile, width, height),
    ]
    if profile.aspects:
        ok = any(abs(width / height - w / h) <= 0.01 * w / h for w, h in profile.aspects)
        allowed = " or ".join(f"{w}:{h}" for w, h in profile.aspects)
        results.append(_rule("aspect", ok, f"{width}:{height}", allowed))
    if not profile.transparency:
        results.append(
            _rule("no transparency", not has_alpha, "alpha" if has_alpha else "opaque", "opaque")
        )
    if profile.fill is not None:
        fill = fill_of(weight)
        low, high = profile.fill
        results.append(
            _rule("fill", low - 0.01 <= fill <= high + 0.01, f"{fill:.0%}", f"{low:.0%}-{high:.0%}")
        )
    if profile.background != "any":
        results.append(_background_rule(profile, pixels, weight, has_alpha))
    return results


def _size_rule(profile: Profile, width: int, height: int) -> RuleResult:
    long_side, short_side = max(width, height), min(width, height)
    ok = (
        long_side >= profile.min_long_side
        and short_side >= profile.min_short_side
        and long_side <= profile.max_side
    )
    wanted = [f"longest side {profile.min_long_side}-{profile.max_side} px"]
    if profile.min_short_side:
        wanted.append(f"shortest side >= {profile.min_short_side} px")
    return _rule("size", ok, f"{width}x{height} px", ", ".join(wanted))


def _background_rule(profile: Profile, pixels: Array, weight: Array, has_alpha: bool) -> RuleResult:
    backdrop = (weight < 0.02) & (pixels[..., 3] > 0.999 if has_alpha else True)
    if has_alpha:
        return _rule(
            "background",
            False,
            "transparent",
            "white" if profile.background == "white" else "light",
        )
    values = pixels[..., :3][backdrop]
    if values.size == 0:
        return _rule("background", False, "no backdrop visible", profile.background)
    if profile.background == "white":
        share = float((values >= 254.5 / 255).all(axis=1).mean())
        return _rule("background", share >= 0.995, f"{share:.1%} pure white", "RGB 255 (>= 99.5 %)")
    colour = values.mean(axis=0)
    light = _is_light(colour.astype(np.float32))
    shown = "#" + "".join(f"{round(float(c) * 255):02x}" for c in colour)
    return _rule("background", light, shown, "white, grey or light, plain")


def _rule(name: str, passed: bool, measured: str, expected: str) -> RuleResult:
    return RuleResult(rule=name, passed=bool(passed), measured=measured, expected=expected)


def deliver(data: bytes, profile: Profile, output_format: str) -> tuple[bytes, Delivery]:
    """The conformed file and its record (path filled in by whoever saves it)."""
    delivered, fmt, changes = conform(data, profile, output_format)
    image = Image.open(io.BytesIO(delivered))
    record = Delivery(
        profile=profile.name,
        path="",
        width=image.width,
        height=image.height,
        format=fmt,
        changes=changes,
        rules=check_rules(delivered, profile),
        model_rules=list(profile.model_rules),
    )
    return delivered, record


async def deliver_best(
    result: RunResult, store: RunStore, profile: Profile, output_format: str
) -> Delivery | None:
    """Conform the run's best image to ``profile`` and save it beside the run's images."""
    best = result.best()
    if best is None:
        return None
    data = await asyncio.to_thread(Path(best.image_path).read_bytes)
    delivered, record = await asyncio.to_thread(deliver, data, profile, output_format)
    path = await asyncio.to_thread(store.save_delivery, profile.name, record.format, delivered)
    return record.model_copy(update={"path": str(path)})
