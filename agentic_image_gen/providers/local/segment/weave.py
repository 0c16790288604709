"""Openings that show a woven backdrop: the cut-outs of a pierced plate lying on linen.

Through an opening the cloth is often in the plate's shadow, darker than the border's, so its
colour alone does not say backdrop. Its weave does: the threads repeat along two directions,
and the border band shows which (the peaks of its autocorrelation: warp, weft and their
diagonal). A pixel whose neighbourhood correlates with itself along those steps, in the
cloth's hue, shows the cloth. Hammered copper, a druzy stone or streaks of polish are
textured too, but do not repeat along two directions. Polished metal can mirror the cloth;
its mirror image is small, repeats less clearly and is darker than a shadow, so only pieces
that are large, clear and not too dark count. They are grown to the plate's edge by a
watershed on the photo smoothed past the weave, so the threads do not stop it but the edge
does. Only enclosed pieces are opened: the outline is trim_edge's.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.backdrop import border_band
from agentic_image_gen.providers.local.segment.background import Difference
from agentic_image_gen.providers.local.segment.holes import exterior, lab_bytes
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import (
    APART,
    DARK,
    HOLE_LIKE,
    HUE,
    PAST_WEAVE,
    REACH,
    SHORTEST,
    THREADS,
    WEAVE_MIN,
    WEAVE_SHARE,
    WINDOW,
    WOVEN,
)
from agentic_image_gen.providers.local.segment.parameters import (
    WEAVE_CLEAR as CLEAR,
)


def _high_pass(rgb: FloatImage) -> FloatImage:
    grey = f32(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return f32(grey - cv2.GaussianBlur(grey, (0, 0), THREADS))


def _autocorrelation(high: FloatImage, border: Mask) -> FloatImage:
    """The border band's normalised autocorrelation for steps up to ``REACH`` px, by FFT over
    the band's four strips (zero-padded, each step averaged over the pairs it has)."""
    band = int(border[:, high.shape[1] // 2].argmin())
    strips = (high[:band], high[-band:], high[:, :band], high[:, -band:])
    size = 2 * REACH + 1
    total, pairs = np.zeros((size, size)), np.zeros((size, size))
    for strip in strips:
        shape = (strip.shape[0] + REACH, strip.shape[1] + REACH)
        spectrum = np.fft.rfft2(strip, shape)
        ones = np.fft.rfft2(np.ones_like(strip), shape)
        sums = np.fft.irfft2(spectrum * np.conj(spectrum), shape)
        counts = np.fft.irfft2(ones * np.conj(ones), shape)
        rows = np.r_[-REACH : REACH + 1] % shape[0]
        cols = np.r_[-REACH : REACH + 1] % shape[1]
        total += sums[np.ix_(rows, cols)]
        pairs += np.maximum(np.rint(counts[np.ix_(rows, cols)]), 0)
    variance = float(np.mean(high[border] ** 2)) + 1e-9
    return f32(total / np.maximum(pairs, 1) / variance)


def _repeats(correlation: FloatImage) -> list[tuple[int, int]]:
    """The weave's steps: the strongest autocorrelation peak, the strongest at least 60 degrees
    from it (a weave repeats along its warp and its weft), and the better of their sum and
    difference (the lattice's diagonal); fewer where the band shows no such peaks."""
    ys, xs = np.mgrid[-REACH : REACH + 1, -REACH : REACH + 1]
    half = ((ys > 0) | ((ys == 0) & (xs > 0))) & (np.hypot(xs, ys) >= SHORTEST)
    order = np.argsort(np.where(half, correlation, -np.inf).ravel())[::-1]
    first = (int(xs.ravel()[order[0]]), int(ys.ravel()[order[0]]))
    for index in order[1 : int(half.sum())]:
        second = (int(xs.ravel()[index]), int(ys.ravel()[index]))
        cross = abs(first[0] * second[1] - first[1] * second[0])
        if cross >= APART * np.hypot(*first) * np.hypot(*second):
            break
    else:
        return [first]
    diagonals = [(first[0] + second[0], first[1] + second[1])]
    diagonals.append((first[0] - second[0], first[1] - second[1]))
    inside = [d for d in diagonals if max(abs(d[0]), abs(d[1])) <= REACH]
    if not inside:
        return [first, second]
    third = max(inside, key=lambda d: float(correlation[d[1] + REACH, d[0] + REACH]))
    return [first, second, third]


def weave_score(high: FloatImage, steps: list[tuple[int, int]]) -> FloatImage:
    """How strongly each pixel's neighbourhood repeats along the weave's steps (the median of
    the normalised correlations: cloth repeats along all of them, hammered metal's streaks
    along one at most)."""
    box = (WINDOW, WINDOW)
    energy = f32(cv2.blur(high * high, box))
    scores = []
    for dx, dy in steps:
        moved = np.roll(high, (dy, dx), axis=(0, 1))
        pair = f32(cv2.blur(high * moved, box))
        score = pair / np.sqrt(energy * np.roll(energy, (dy, dx), axis=(0, 1)) + 1e-9)
        scores.append(np.roll(score, (-(dy // 2), -(dx // 2)), axis=(0, 1)))
    return f32(np.median(np.stack(scores), axis=0))


def _cloth(hard: Mask, woven: FloatImage, threshold: float, diff: Difference) -> Mask:
    """Pixels of the mask whose neighbourhood is woven, in the cloth's hue and no lighter."""
    box = (WINDOW, WINDOW)
    hue = np.hypot(cv2.blur(diff.offset[..., 1], box), cv2.blur(diff.offset[..., 2], box))
    lighter = f32(cv2.blur(diff.lighter, box))
    cloth = hard & (woven > threshold) & (hue < HUE) & (lighter < HOLE_LIKE)
    return cv2.morphologyEx(u8(cloth), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0


def _seeds(hard: Mask, woven: FloatImage, border: Mask, diff: Difference) -> Mask:
    """The pieces of ``_cloth`` that surely show it: enclosed, at least a window large, no
    darker than a shadow, and as clearly woven as the border."""
    typical = float(np.median(woven[border]))
    cloth = _cloth(hard, woven, max(WEAVE_MIN, WEAVE_SHARE * typical), diff)
    count, labels, stats = components(cloth)
    if count <= 1:
        return cloth
    flat = labels.ravel()
    area = stats[1:, cv2.CC_STAT_AREA]
    step = np.bincount(flat, diff.delta_l.ravel(), count)[1:] / np.maximum(area, 1)
    near_out = cv2.dilate(u8(exterior(hard)), np.ones((3, 3), np.uint8)) > 0
    enclosed = np.bincount(flat, near_out.ravel(), count)[1:] == 0
    keep = (area >= WINDOW * WINDOW) & (step > -DARK) & enclosed
    clearest = CLEAR * float(np.percentile(woven[border], 75))
    for index in np.flatnonzero(keep):
        keep[index] = float(np.percentile(woven[labels == index + 1], 90)) >= clearest
    return np.isin(labels, 1 + np.flatnonzero(keep))


def open_weave(hard: Mask, rgb: FloatImage, diff: Difference) -> Mask:
    """On a woven backdrop, open the regions of the mask that show the cloth, to the edge."""
    if not diff.textured:
        return hard
    high = _high_pass(rgb)
    border = border_band(*high.shape)
    steps = _repeats(_autocorrelation(high, border))
    if len(steps) < 3:
        return hard
    woven = weave_score(high, steps)
    if float(np.median(woven[border])) < WOVEN:
        return hard
    seeds = _seeds(hard, woven, border, diff)
    if not seeds.any():
        return hard
    # The cloth's edge lies within half a window of a seed; farther in, the product is sure.
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (WINDOW, WINDOW))
    near = cv2.dilate(u8(seeds), disc) > 0
    markers = np.full(hard.shape, 1, np.int32)
    markers[hard & ~near] = 2
    markers[hard & near & ~seeds] = 0
    cv2.watershed(lab_bytes(rgb, PAST_WEAVE), markers)
    return np.asarray(hard & (markers != 1), bool)
