"""A marketplace profile's final, deterministic pass: make the best image a file the shop
accepts (what needs no model: background, fill, size, aspect, colour space, format), then
check every measurable rule on the file actually delivered.

The product is where pixels/product.py finds it (the alpha channel, or what departs from the
fitted backdrop), and, where the caller knows better (a locked product's placement, a
segmenter's cut of the image), where ``product`` says: a white sweep and a white-gold facet
differ by nothing a backdrop model sees. A white-background profile composites the product
onto RGB 255 with its soft weight, so edges stay smooth and the backdrop is exactly white;
what is as good as white becomes white only outside the product: its own pixels are kept.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageCms

from agentic_image_gen.core.profiles import Profile
from agentic_image_gen.core.types import Delivery, RuleResult
from agentic_image_gen.pixels.alpha import CLEAR, OPAQUE, uncropped
from agentic_image_gen.pixels.arrays import FloatImage, channel_max, f32
from agentic_image_gen.pixels.backdrop import border_colour
from agentic_image_gen.pixels.boxes import box, fill
from agentic_image_gen.pixels.decode import Decoded, decode
from agentic_image_gen.pixels.encode import encode
from agentic_image_gen.pixels.product import SOFT_LOW, backdrop_only, product_weight

WHITE = 254.5 / 255  # a channel at least this bright is RGB 255 in the file
WHITE_SHARE = 0.995  # of the backdrop's pixels that must be pure white


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


def _reframe(
    pixels: FloatImage, weight: FloatImage, profile: Profile
) -> tuple[FloatImage, FloatImage, float]:
    """Scale and place the product at the profile's fill, centred, on the target canvas;
    what lies outside the source is backdrop (weight 0). ``weight`` may carry more
    channels (the product's own region): they move with it. The scale is returned too: past
    the profile's ``max_upscale`` the file shows detail that was never there, so the fill
    band's middle gives way to the limit when the band's low edge is still reached."""
    height, width = weight.shape[:2]
    out_w, out_h = _canvas_size(profile, width, height)
    found = box(weight if weight.ndim == 2 else weight[..., 0])
    target = profile.fill_target
    if found is None or target is None:
        scale = max(out_w / width, out_h / height)  # cover the canvas, keep the framing
        centre = (width / 2, height / 2)
    else:
        box_w, box_h = found[2] - found[0], found[3] - found[1]
        extent = max(box_w / out_w, box_h / out_h)
        lowest = profile.fill[0] / extent if profile.fill else target / extent
        scale = min(target / extent, max(profile.max_upscale, lowest))
        centre = ((found[0] + found[2]) / 2, (found[1] + found[3]) / 2)
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
    return f32(np.clip(moved, 0, 1)), f32(np.clip(moved_weight, 0, 1)), float(scale)


def _is_light(colour: FloatImage) -> bool:
    return float(colour.mean()) >= 0.85 and float(colour.max() - colour.min()) <= 0.08


def conform(
    data: bytes, profile: Profile, output_format: str, product: FloatImage | None = None
) -> tuple[bytes, str, list[str]]:
    """The delivered file's bytes and format, and what the pass changed (in words).
    ``product``: where the product is (0..1, the image's size), when the caller knows."""
    delivered, fmt, changes, _, _ = _conform(data, profile, output_format, product)
    return delivered, fmt, changes


def _conform(
    data: bytes, profile: Profile, output_format: str, product: FloatImage | None
) -> tuple[bytes, str, list[str], float, FloatImage]:
    """``conform``, how much the pass enlarged the image (the upscaling rule's figure) and
    where the product's own pixels are in the delivered frame."""
    image = decode(data)
    has_alpha = image.transparent
    weight = product_weight(image)
    own = np.zeros_like(weight) if product is None else _fitted(product, weight.shape)
    weight = np.maximum(weight, own)
    changes: list[str] = []
    before, (source_h, source_w) = fill(box(weight), weight.shape), weight.shape
    pixels, moved, scale = _reframe(image.rgba, np.dstack([weight, own]), profile)
    weight, own = moved[..., 0], moved[..., 1]
    height, width = weight.shape
    if profile.fill is not None and not profile.fill[0] <= before <= profile.fill[1]:
        now = fill(box(weight), weight.shape)
        changes.append(f"reframed: the product filled {before:.0%}, now {now:.0%}")
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
        # What is as good as white is white: no faint veil the rule (and a shop) would see;
        # never a pixel of the product (a white-gold facet is as good as white too).
        veil = (channel_max(np.abs(1.0 - rgb)) < SOFT_LOW + 0.01) & (own < CLEAR)
        rgb[veil] = 1.0
        changes.append("backdrop made pure white (RGB 255)")
        keep_alpha = False
    elif has_alpha and not keep_alpha:
        rgb = rgb * alpha + (1.0 - alpha)
        changes.append("transparency flattened onto white")
    fmt = output_format if output_format in profile.formats else profile.formats[0]
    if fmt != output_format:
        changes.append(f"saved as {fmt.upper()} (the marketplace does not take {output_format})")
    channels = np.dstack([rgb, alpha]) if keep_alpha else rgb
    delivered, fmt = _encoded(channels, fmt, profile, changes, own)
    return delivered, fmt, changes, scale, own


def _encoded(
    channels: FloatImage, fmt: str, profile: Profile, changes: list[str], own: FloatImage
) -> tuple[bytes, str]:
    """The file's bytes in ``fmt``. JPEG's 8 x 8 blocks ring where the product meets the
    backdrop: at quality 95 with half-resolution colour, 1-4 % of a white backdrop came out
    at 252-254 and failed the white rule. A white profile's JPEG is saved at full quality
    and full colour resolution; if its backdrop still is not white, as PNG (lossless) when
    the profile takes it, and the change says why. ``own``: the product's pixels, which are
    not backdrop however white."""
    if fmt != "jpeg" or profile.background != "white":
        return encode(channels, fmt, srgb=True), fmt
    data = encode(channels, fmt, quality=100, srgb=True, full_chroma=True)
    image = decode(data)
    weight = product_weight(image)
    rule = _background_rule(profile, image, np.maximum(weight, _fitted(own, weight.shape)))
    if rule.passed or "png" not in profile.formats:
        return data, fmt
    changes.append(f"saved as PNG: as a JPEG the backdrop was {rule.measured}, not all white")
    return encode(channels, "png", srgb=True), "png"


def product_frame(data: bytes, alpha: FloatImage, origin: tuple[int, int]) -> FloatImage:
    """A cut-out's cropped alpha put back on the frame of the image it was cut from."""
    image = decode(data)
    return uncropped(alpha, origin, (image.width, image.height))


def _fitted(product: FloatImage, shape: tuple[int, ...]) -> FloatImage:
    """``product`` at the image's size (a locked canvas may be made at another), its opaque
    body exactly 1: kept as it is, not blended."""
    if product.shape[:2] != shape[:2]:
        product = np.clip(cv2.resize(product, (shape[1], shape[0])), 0, 1)
    return f32(np.where(product >= OPAQUE, 1.0, product))


def _colour_space(image: Image.Image) -> str:
    icc = image.info.get("icc_profile")
    if not icc:
        return "sRGB" if image.mode in ("RGB", "RGBA", "L") else image.mode
    description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    return "sRGB" if "srgb" in description.lower() else description.strip()


def check_rules(
    data: bytes,
    profile: Profile,
    product: FloatImage | None = None,
    upscale: float | None = None,
) -> list[RuleResult]:
    """Every measurable rule of ``profile`` on the file as delivered; ``product``: where the
    product's own pixels are, when known (they are not backdrop, however white); ``upscale``
    (how much the pass enlarged the image it was made from) adds the upscaling rule."""
    with Image.open(io.BytesIO(data)) as opened:
        fmt, colour_space = (opened.format or "").lower(), _colour_space(opened)
        width, height = opened.size
    image = decode(data)
    weight = product_weight(image)
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
        shown = "alpha" if image.transparent else "opaque"
        results.append(_rule("no transparency", not image.transparent, shown, "opaque"))
    if profile.fill is not None:
        share = fill(box(weight), weight.shape)
        low, high = profile.fill
        results.append(
            _rule(
                "fill", low - 0.01 <= share <= high + 0.01, f"{share:.0%}", f"{low:.0%}-{high:.0%}"
            )
        )
    if profile.background != "any":
        if product is not None:
            weight = np.maximum(weight, _fitted(product, weight.shape))
        results.append(_background_rule(profile, image, weight))
    if upscale is not None:
        limit = f"at most {profile.max_upscale:g}x"
        results.append(_rule("upscaling", upscale <= profile.max_upscale, f"{upscale:.2f}x", limit))
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


def _background_rule(profile: Profile, image: Decoded, weight: FloatImage) -> RuleResult:
    if image.transparent:
        wanted = "white" if profile.background == "white" else "light"
        return _rule("background", False, "transparent", wanted)
    values = image.rgb[backdrop_only(weight)]
    if values.size == 0:
        return _rule("background", False, "no backdrop visible", profile.background)
    if profile.background == "white":
        share = float((values >= WHITE).all(axis=1).mean())
        return _rule(
            "background", share >= WHITE_SHARE, f"{share:.1%} pure white", "RGB 255 (>= 99.5 %)"
        )
    colour = f32(values.mean(axis=0))
    shown = "#" + "".join(f"{round(float(c) * 255):02x}" for c in colour)
    return _rule("background", _is_light(colour), shown, "white, grey or light, plain")


def _rule(name: str, passed: bool, measured: str, expected: str) -> RuleResult:
    return RuleResult(rule=name, passed=bool(passed), measured=measured, expected=expected)


def deliver(
    data: bytes, profile: Profile, output_format: str, product: FloatImage | None = None
) -> tuple[bytes, Delivery]:
    """The conformed file and its record (path filled in by whoever saves it)."""
    delivered, fmt, changes, upscale, own = _conform(data, profile, output_format, product)
    with Image.open(io.BytesIO(delivered)) as image:
        width, height = image.size
    record = Delivery(
        profile=profile.name,
        path="",
        width=width,
        height=height,
        format=fmt,
        changes=changes,
        rules=check_rules(
            delivered, profile, own if product is not None else None, upscale
        ),
        model_rules=list(profile.model_rules),
    )
    return delivered, record
