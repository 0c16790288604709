"""The product alone, or the run stops: what the studio paints and a locked product pastes
is the cut-out itself, so a cut that kept what the product is worn on, held by or lies
against (skin, a prop, the backdrop: junk.py, over its limit) would be in every image, and
no prompt can take it out. Such a photo is refused with one line (exit 3), before any image
is made; a cut from the reference's own alpha channel is the user's and is taken as it is.
"""

from __future__ import annotations

from typing import Any

from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.providers.local.cutout import Cutout, cut_key, cutout_for
from agentic_image_gen.providers.local.junk import (
    Junk,
    cut_junk,
    reference_photo,
    refusal_line,
)
from agentic_image_gen.providers.local.memo import once

CHECKED_KEY = "local.cuts_alone"  # the run's cache: what each cut-out keeps besides the product


async def product_alone(reference: ReferenceImage, shared: dict[str, Any]) -> Cutout:
    """The run's cut-out of ``reference`` (cutout.cutout_for) once it is known to hold the
    product alone; checked once per run and cut."""
    cut = await cutout_for(reference, shared)
    if cut.from_alpha_channel:
        return cut

    photo = await reference_photo(reference, shared)
    found: Junk = await once(
        shared, CHECKED_KEY, cut_key(reference, shared), lambda: cut_junk(cut, photo)
    )
    if not found.clean:
        raise UnusableReference(f"reference {reference.source!r}: {refusal_line(found)}")
    return cut
