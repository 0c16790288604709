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
