"""Array types of the pixel code and the local providers, and casts that type OpenCV's results.

OpenCV's stubs return ``Mat | ndarray[Any, ...]``; these casts pin the dtype once, where a
result enters our code, instead of scattering ignores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatImage = NDArray[np.float32]  # H x W or H x W x C, values in [0, 1] unless stated
ByteImage = NDArray[np.uint8]
Mask = NDArray[np.bool_]


def f32(array: Any) -> FloatImage:
    return np.asarray(array, dtype=np.float32)


def u8(array: Any) -> ByteImage:
    return np.asarray(array, dtype=np.uint8)


def channel_max(image: FloatImage) -> FloatImage:
    """The largest channel of each pixel of an H x W x C image: channel by channel, three
    times as fast as numpy's max over a short last axis (every measure of a shot reads it)."""
    largest = np.array(image[..., 0], dtype=np.float32)  # a copy, whatever the input
    for channel in range(1, image.shape[2]):
        np.maximum(largest, image[..., channel], out=largest)
    return largest
