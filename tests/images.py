"""Real image bytes for tests, drawn with Pillow."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def ring_photo(
    width: int = 640, height: int = 480, fmt: str = "JPEG", alpha: bool = False
) -> bytes:
    """A gold ring with a blue stone on grey: a stand-in for a user's product photo."""
    mode = "RGBA" if alpha else "RGB"
    image = Image.new(mode, (width, height), (0, 0, 0, 0) if alpha else (150, 150, 150))
    draw = ImageDraw.Draw(image)
    cx, cy, r = width // 2, height // 2, min(width, height) // 4
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(212, 175, 55), width=max(4, r // 6))
    draw.ellipse((cx - r // 3, cy - r - r // 3, cx + r // 3, cy - r + r // 3), fill=(20, 50, 160))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
