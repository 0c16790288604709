"""The backdrop's weave: how much of each pixel's fine texture repeats the backdrop's own.

Linen, canvas and some woods carry a fine periodic texture. A shadow cast on them darkens the
weave and keeps it; a part of the product lying on them (a plate's rim in its stone's shade, a
chain) shows none of it. Where colour cannot tell a shaded part from a shadow, the weave can.
It is measured at ``WEAVE_SIDE``: there the development photos' linen repeats every 7-12 px,
while at the evaluator's judging size (512 px) it is at the pixel's limit and lost.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.pixels.similarity import lab

WEAVE_SIDE = 1024  # px: the photo's longer side where the weave is measured
TILE = 64  # px: the backdrop's spectrum is averaged over tiles this big (several periods)
FINE = 3.0  # px: what a Gaussian this wide blurs away is the fine texture a weave lives in
PERIODS = (4.0, 16.0)  # px: a weave repeats within this range at WEAVE_SIDE
PEAKS = 4  # the backdrop's strongest separate frequencies that make its weave
PERIODIC = 0.08  # share of the backdrop's fine texture in those peaks: below it, no weave.
# The linen of the development photos 08, 09, 11 and 12 holds 0.086-0.13 (the finer linen
# of 13, 0.076, falls under); the wood under the pendants 15 and the cufflinks 14 0.069,
# and a floor of 0.05 takes 1 % of the pendants' glass for a lost part; a studio sweep's
# JPEG blocks reach 0.13, so the caller asks for a textured backdrop first
WINDOW = 6.0  # px: each pixel's texture is measured in a Gaussian window this wide (sigma),
# half a period or more: 5 and 8 judge the development photos alike (README)


def _fine(lightness: FloatImage) -> FloatImage:
    return f32(lightness - cv2.GaussianBlur(lightness, (0, 0), FINE))


def _peaks(fine: FloatImage, backdrop: Mask) -> tuple[list[tuple[float, float]], float]:
    """The backdrop's strongest separate frequencies (cycles per pixel, y and x) within
    ``PERIODS``, and the share of its fine texture's power they hold."""
    window = np.outer(np.hanning(TILE), np.hanning(TILE))
    power = np.zeros((TILE, TILE))
    height, width = fine.shape
    for y in range(0, height - TILE + 1, TILE // 2):
        for x in range(0, width - TILE + 1, TILE // 2):
            if backdrop[y : y + TILE, x : x + TILE].all():
                power += np.abs(np.fft.fft2(fine[y : y + TILE, x : x + TILE] * window)) ** 2
    freq = np.fft.fftfreq(TILE)
    fy, fx = (axis.ravel() for axis in np.meshgrid(freq, freq, indexing="ij"))
    radius = np.hypot(fy, fx)
    half = (fy > 0) | ((fy == 0) & (fx > 0))  # a real image's spectrum is symmetric
    fine_band = half & (radius >= 1 / PERIODS[1])
    band = fine_band & (radius <= 1 / PERIODS[0])
    flat = power.ravel()
    total = float(flat[fine_band].sum())
    if total <= 0.0:
        return [], 0.0
    chosen: list[int] = []
    for index in np.argsort(np.where(band, flat, -1.0))[::-1]:
        if len(chosen) == PEAKS or not band[index]:
            break
        # Neighbouring bins are the same peak seen through the tile's window.
        if all(np.hypot(fy[index] - fy[j], fx[index] - fx[j]) > 1.5 / TILE for j in chosen):
            chosen.append(int(index))
    share = float(flat[chosen].sum()) / total
    return [(float(fy[i]), float(fx[i])) for i in chosen], share


def _share(fine: FloatImage, freqs: list[tuple[float, float]]) -> FloatImage:
    """Per pixel, the largest share of its windowed fine texture at one of ``freqs`` (a
    pure wave at that frequency is 1, texture with none of it 0)."""
    reach = int(3 * WINDOW)
    ys, xs = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    gauss = np.exp(-(xs * xs + ys * ys) / (2 * WINDOW * WINDOW))
    gauss /= gauss.sum()
    energy = cv2.filter2D(fine * fine, -1, f32(gauss)) + 1e-4
    best = np.zeros_like(fine)
    for fy, fx in freqs:
        phase = 2 * np.pi * (fy * ys + fx * xs)
        real = gauss * np.cos(phase)
        real -= gauss * real.sum()  # no response to a flat patch
        imag = gauss * np.sin(phase)
        re = cv2.filter2D(fine, -1, f32(real))
        im = cv2.filter2D(fine, -1, f32(imag))
        best = np.maximum(best, 2 * (re * re + im * im) / energy)
    return f32(np.minimum(best, 1.0))


def weave(rgb: FloatImage, backdrop: Mask) -> FloatImage | None:
    """Per pixel of ``backdrop``'s grid (a mask of what is surely the backdrop, at any size;
    measured at ``WEAVE_SIDE``), the share of ``rgb``'s fine texture there that repeats the
    backdrop's weave; None when the backdrop has no weave (``PERIODIC``)."""
    small, _ = within(rgb, WEAVE_SIDE)
    size = (small.shape[1], small.shape[0])
    fine = _fine(f32(lab(small)[..., 0]))
    sure = cv2.resize(u8(backdrop), size, interpolation=cv2.INTER_NEAREST) > 0
    freqs, share = _peaks(fine, sure)
    if share < PERIODIC:
        return None
    back = (backdrop.shape[1], backdrop.shape[0])
    return f32(cv2.resize(_share(fine, freqs), back, interpolation=cv2.INTER_AREA))
