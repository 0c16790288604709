"""What a segmenter is: a name, and a soft product map for an opaque photo.

The method is synchronous and CPU- or GPU-bound; callers run it in a worker thread. A map
is H x W float32 in [0, 1] at the photo's own size: 1 is product, 0 is background. Refining
it (ring holes, thin parts, soft edges) is refine.py's job, so every segmenter gets it.
"""

from __future__ import annotations

from typing import Protocol

from agentic_image_gen.pixels.arrays import FloatImage


class Segmenter(Protocol):
    """A product segmenter, loaded once and shared by every run of a session."""

    @property
    def name(self) -> str:
        """The registry name that ran (recorded on every cut-out)."""
        ...

    @property
    def coarse(self) -> bool:
        """Whether the map is coarse (made at a small side, like U²-Netp's 320 px): then the
        whole refinement applies; a fine map gets only the steps that do not assume a
        coarse one (refine.py)."""
        ...

    def segment(self, rgb: FloatImage) -> FloatImage:
        """The product's probability map of ``rgb`` (H x W x 3 in [0, 1]) at its size."""
        ...
