"""The cut-out on real photos (../shared/photos, never copied into the project)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from agentic_image_gen.providers.local.cutout import cut_out
from agentic_image_gen.providers.local.segment import SegmenterPool

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "photos"
pytestmark = pytest.mark.skipif(
    not PHOTOS.is_dir(), reason="the development photos (../shared/photos) are not here"
)
POOL = SegmenterPool()  # one model load for the module, as for one session


def shape(mask: np.ndarray) -> np.ndarray:
    """PROVENANCE.md's shape: the mask cropped to its box and scaled to 256x256."""
    rows, cols = np.nonzero(mask)
    crop = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].astype(np.uint8)
    return np.asarray(cv2.resize(crop * 255, (256, 256), interpolation=cv2.INTER_AREA)) > 127


@pytest.mark.parametrize(
    "name",
    [
        "03_ring_white_ring3",
        "06_ring_white_ring8",
        "07_ring_white_ring_test_2",
    ],
)
def test_rings_on_white_match_their_hand_drawn_masks(name: str) -> None:
    cut = cut_out((PHOTOS / f"{name}.jpg").read_bytes(), POOL.get())
    truth = np.asarray(Image.open(PHOTOS / "masks" / f"{name}.png").convert("L")) > 127
    mine = np.zeros(truth.shape, bool)
    x, y = cut.origin
    solid = cut.alpha > 0.5
    mine[y : y + solid.shape[0], x : x + solid.shape[1]] = solid
    a, b = shape(mine), shape(truth)
    assert (a & b).sum() / (a | b).sum() >= 0.85
    assert cut.segmenter == POOL.resolve()
