"""Measurements the technical evaluator scores: plain numbers taken from the pixels.

Nothing here knows about bands or weights; each function returns what it measured. The
product is found from the alpha channel when the image has real transparency, else as what
differs from the backdrop, modelled row by row from the frame's left and right edges (that
follows flat, gradient and floor-and-wall backdrops alike). Shadows and reflections are
faint by design, so a high threshold leaves them out of the product.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from agentic_image_gen.inputs.imaging import NotAnImage
from agentic_image_gen.inputs.normalise import normalise
from agentic_image_gen.providers.local.arrays import ByteImage, FloatImage, Mask, f32, u8

ANALYSIS_SIDE = 512  # sparkle and similarity see the product at this size, whatever its own
BORDER = 0.03  # the band along the frame's edges that shows the backdrop
PRODUCT_THRESHOLD = 0.2  # colour distance from the backdrop (0..1) that counts as product
FAINT_THRESHOLD = 0.06  # ... that counts when every part matters (completeness)
HALO_REACH = 8  # pixels past the solid edge where a halo is looked for
OFF_COLOUR = 20.0  # Lab distance from the expected colour that marks a rim pixel as foreign
SOFT_EDGE = 0.006  # a soft matte edge may reach this far (fraction of the frame) past the solid


@dataclass(frozen=True)
class Decoded:
    """The image as the evaluator sees it: its real format, size, colour and alpha."""

    format: str
    mode: str
    width: int
    height: int
    rgb: FloatImage
    alpha: FloatImage | None


def decode(data: bytes) -> Decoded:
    """Raises NotAnImage when the bytes are not a whole, readable image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _decoded(image, normalise(image)[0])  # measured as a person sees it
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(f"not a readable image ({exc})") from exc


def _decoded(image: Image.Image, pixels: Image.Image) -> Decoded:
    """The file's own format and mode; the size and colours of its normalised ``pixels``."""
    has_alpha = pixels.mode in ("RGBA", "LA", "PA") or "transparency" in pixels.info
    rgba = np.asarray(pixels.convert("RGBA"), dtype=np.float32) / 255.0
    return Decoded(
        format=image.format or "",
        mode=image.mode,
        width=pixels.width,
        height=pixels.height,
        rgb=np.ascontiguousarray(rgba[..., :3]),
        alpha=np.ascontiguousarray(rgba[..., 3]) if has_alpha else None,
    )


def luminance(rgb: FloatImage) -> FloatImage:
    return np.asarray(rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32), dtype=np.float32)


def border_band(height: int, width: int) -> Mask:
    band = max(2, round(BORDER * min(height, width)))
    mask = np.ones((height, width), bool)
    mask[band:-band, band:-band] = False
    return mask


def backdrop_model(rgb: FloatImage) -> FloatImage:
    """The backdrop's colour per row, from the frame's left and right edge strips."""
    width = rgb.shape[1]
    strip = max(2, round(BORDER * width))
    edges = np.concatenate([rgb[:, :strip], rgb[:, -strip:]], axis=1)
    rows = np.median(edges, axis=1).astype(np.float32)
    return f32(cv2.GaussianBlur(rows[:, None, :], (1, 0), sigmaX=0, sigmaY=3))[:, 0, :]


def largest_parts(mask: Mask, thin: bool = True) -> Mask:
    """The product's pieces: components at least 5% the size of the largest, or (``thin``)
    reaching at least a fifth as far: a hook or a chain apart from the body has little area
    but is long, and dropping it would shift the product's box, which framing and
    completeness measure. An opaque image's mask comes from a backdrop model, where a long
    thin piece is as likely a crease in the sweep: there only the area counts."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(mask), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    reach = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    largest = int(np.argmax(areas))
    keep = areas >= 0.05 * areas[largest]
    if thin:
        keep |= reach >= 0.2 * reach[largest]
    return np.isin(labels, 1 + np.flatnonzero(keep))


def transparent(image: Decoded) -> bool:
    """Whether the image really uses its alpha channel: then it says where the product is."""
    return image.alpha is not None and float(image.alpha.min()) < 0.98


def product_mask(image: Decoded, faint: bool = False) -> Mask:
    """The product: the alpha channel where the image uses one, else what differs from the
    fitted backdrop. ``faint`` also keeps what differs a little (a pale wire, white glass on
    a white sweep) and thin parts: completeness wants every part the shot shows, framing
    wants the product's body without the sweep's shading."""
    if transparent(image):
        assert image.alpha is not None
        return largest_parts(image.alpha > 0.5)
    model = backdrop_model(image.rgb)
    distance = np.abs(image.rgb - model[:, None, :]).max(axis=2)
    if faint:
        return largest_parts(distance > FAINT_THRESHOLD)
    mask = cv2.morphologyEx(
        (distance > PRODUCT_THRESHOLD).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
    )
    return largest_parts(mask > 0, thin=False)


def box(mask: Mask) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def framing(mask: Mask) -> tuple[float, float]:
    """(fill, off-centre): the box's larger side over the frame's, and the centre's offset."""
    found = box(mask)
    if found is None:
        return 0.0, 0.5
    left, top, right, bottom = found
    height, width = mask.shape
    fill = max((right - left) / width, (bottom - top) / height)
    offset = max(abs((left + right) / 2 / width - 0.5), abs((top + bottom) / 2 / height - 0.5))
    return float(fill), float(offset)


def product_crop(image: Decoded, mask: Mask) -> tuple[FloatImage, Mask]:
    """The product's box resized so its longer side is ANALYSIS_SIDE: scale-free measures."""
    found = box(mask)
    assert found is not None
    left, top, right, bottom = found
    scale = ANALYSIS_SIDE / max(right - left, bottom - top)
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = f32(cv2.resize(image.rgb[top:bottom, left:right], size, interpolation=method))
    crop_mask = cv2.resize(mask[top:bottom, left:right].astype(np.uint8), size) > 0
    return rgb, crop_mask


def sharpness(rgb: FloatImage, mask: Mask) -> float:
    """Variance of the Laplacian inside the product, grey levels 0-255, at the image's own
    pixels: what a shopper zooming to 100% sees, so an enlarged soft photo reads as soft.

    The outline is left out: its contrast depends on the backdrop, not on focus."""
    grey = luminance(rgb) * 255
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    inside = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return float(laplacian[inside].var()) if inside.any() else 0.0


def local_contrast(rgb: FloatImage, mask: Mask) -> float:
    """Mean |lightness - its local average| over the product: what reads as sparkle."""
    grey = luminance(rgb)
    weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 8)
    local = cv2.GaussianBlur(grey * mask, (0, 0), 8) / np.maximum(weight, 1e-3)
    solid = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float(np.abs(grey - local)[solid].mean()) if solid.any() else 0.0


def tones(rgb: FloatImage, mask: Mask) -> tuple[float, float, float]:
    """(median, clipped fraction, crushed fraction) of the product's luminance."""
    lum = luminance(rgb)[mask]
    if lum.size == 0:
        return 0.0, 0.0, 0.0
    return float(np.median(lum)), float((lum >= 0.985).mean()), float((lum <= 0.02).mean())


def _inside_colour(lab: FloatImage, solid: ByteImage) -> tuple[FloatImage, FloatImage]:
    """The product's own colour near each pixel (from pixels 3+ px inside), and its weight."""
    core = f32(cv2.erode(solid, np.ones((7, 7), np.uint8)))
    weight = f32(cv2.GaussianBlur(core, (0, 0), 3))
    colour = f32(cv2.GaussianBlur(lab * core[..., None], (0, 0), 3))
    return f32(colour / np.maximum(weight, 1e-4)[..., None]), weight


def halo(image: Decoded, mask: Mask) -> float:
    """The halo's width in pixels: how wide the band around the cut-out is that is neither
    product nor backdrop, per pixel of outline (a crisp, clean edge is about 1 px).

    A pixel of that band is a blend of the product's own colour and the backdrop's (a soft,
    smeared edge), or a colour off that blend: the photo's old background left on the rim.
    With transparency the blend is the alpha ramp, and an opaque rim pixel is off when its
    colour departs from the product's nearby colour.
    """
    solid = (image.alpha > 0.5) if image.alpha is not None else mask
    solid_u8 = solid.astype(np.uint8)
    outline = int((solid & ~(cv2.erode(solid_u8, np.ones((3, 3), np.uint8)) > 0)).sum())
    if outline == 0:
        return 0.0
    lab = f32(cv2.cvtColor(image.rgb, cv2.COLOR_RGB2Lab))
    inside, weight = _inside_colour(lab, solid_u8)
    reach = np.ones((2 * HALO_REACH + 1, 2 * HALO_REACH + 1), np.uint8)
    band = (cv2.dilate(solid_u8, reach) > 0) & ~(
        cv2.erode(solid_u8, np.ones((11, 11), np.uint8)) > 0
    )
    band &= weight > 0.02
    if image.alpha is not None:
        blended = (image.alpha > 0.05) & (image.alpha < 0.95)
        off = (image.alpha >= 0.95) & (np.linalg.norm(lab - inside, axis=2) > OFF_COLOUR)
    else:
        outside = cv2.cvtColor(backdrop_model(image.rgb)[:, None, :], cv2.COLOR_RGB2Lab)
        span = outside - inside
        length = np.maximum((span**2).sum(axis=2), 1e-3)
        t = np.clip(((lab - inside) * span).sum(axis=2) / length, 0.0, 1.0)
        residual = np.linalg.norm(lab - (inside + t[..., None] * span), axis=2)
        blended = (t > 0.15) & (t < 0.85) & (length > 100.0)
        off = residual > OFF_COLOUR
    return float((band & (blended | off)).sum() / outline)


def backdrop_stats(image: Decoded, mask: Mask) -> tuple[float, float, float, float]:
    """(mean luminance, flatness, cast, grain) of the backdrop seen in the border band.

    Flatness is the luminance spread after removing the row-wise trend a gradient has;
    cast is the largest difference between colour channel means; grain is the spread of the
    Laplacian (texture, noise, a table's mottling).
    """
    height, width = mask.shape
    band = border_band(height, width) & ~cv2.dilate(
        mask.astype(np.uint8), np.ones((15, 15), np.uint8)
    ).astype(bool)
    if not band.any():
        return 0.0, 1.0, 1.0, 1.0
    pixels = image.rgb[band]
    lum = luminance(image.rgb)
    trend = luminance(backdrop_model(image.rgb))[:, None]
    flatness = float((lum - trend)[band].std())
    means = pixels.mean(axis=0)
    grain = float(np.abs(cv2.Laplacian(lum, cv2.CV_32F, ksize=3))[band].mean())
    return float(lum[band].mean()), flatness, float(means.max() - means.min()), grain


def stray_alpha(image: Decoded, mask: Mask) -> float:
    """Fraction of the frame outside the product (and its soft rim) that is not fully clear."""
    if image.alpha is None:
        return 1.0
    reach = 2 * max(4, round(SOFT_EDGE * min(mask.shape))) + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    outside = ~near
    return float((image.alpha[outside] > 0).mean()) if outside.any() else 0.0


def colour_signature(rgb: FloatImage, mask: Mask) -> NDArray[np.float32]:
    """What colours the product is made of, blind to exposure and to a small hue shift.

    A hue histogram (12 bins, smoothed around the circle so warming gold a little does not
    move it to another bin) of the coloured pixels, plus one bin for the neutral ones (metal,
    white stones), normalised to sum to 1. Very dark pixels carry no colour and are left out.
    """
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    usable = mask & (hsv[..., 2] > 0.12)
    coloured = usable & (hsv[..., 1] > 0.15)
    hues = np.histogram(hsv[..., 0][coloured], bins=12, range=(0, 360))[0].astype(np.float32)
    hues = 0.5 * hues + 0.25 * np.roll(hues, 1) + 0.25 * np.roll(hues, -1)
    signature = np.append(hues, float((usable & ~coloured).sum()))
    total = float(signature.sum())
    return (signature / total if total else signature).astype(np.float32)


def similarity(
    output: tuple[FloatImage, Mask], reference: tuple[FloatImage, Mask]
) -> tuple[float, float]:
    """(colour correlation, shape agreement) of the product in the output and the reference."""
    a, b = colour_signature(*output), colour_signature(*reference)
    colour = float(np.minimum(a, b).sum())  # histogram intersection: 1 = same colours
    box_a, box_b = box(output[1]), box(reference[1])
    if box_a is None or box_b is None:
        return colour, 0.0
    aspect_a = (box_a[2] - box_a[0]) / (box_a[3] - box_a[1])
    aspect_b = (box_b[2] - box_b[0]) / (box_b[3] - box_b[1])
    return colour, float(min(aspect_a, aspect_b) / max(aspect_a, aspect_b))
