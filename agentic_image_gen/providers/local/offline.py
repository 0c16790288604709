"""What a prompt may ask that the offline studio cannot make: a textured surface or a scene
around the product, props (added or taken out), the piece worn. The technical evaluator
names these in its critique as not possible offline, rather than score a white sweep as if
it were what was asked."""

from __future__ import annotations

import re

from agentic_image_gen.providers.local.vocabulary import find

# Read where the words set the scene (on/against a ..., a ... background, leave out the ...),
# not in the product's own description ("a wooden bead bracelet" is the product).
_SCENE = (
    r"(?:marble|wood(?:en)?|linen|fabric|silk|satin|velvet|slate|stone|concrete|moss|"
    r"flowers?|floral|petals?|leaf|leaves|sand|beach|driftwood|table|tray|dish|jewelry box|"
    r"jewellery box|ring box|hand|wrist|neck|finger|model|mannequin|bust)"
)
_SETS = r"(?:on|against|over|atop|in|among|beside|with|surrounded by|resting on|lying on)"
_SURFACE = r"(?:background|backdrop|surface|table|board|props?)"
BEYOND = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b{_SETS}\s+(?:an?\s+|the\s+|some\s+|its\s+)?(?:[\w'-]+\s+){{0,2}}{_SCENE}"
        rf"\b(?:\s+{_SURFACE})?",
        rf"\b(?:[\w'-]+\s+)?{_SCENE}\s+(?:background|backdrop|surface|setting|scene|props?)\b",
        r"\b(?:leave out|remove|take out|without|drop|no)\s+(?:the\s+|a\s+|an\s+|any\s+)?"
        r"(?:[\w'-]+\s+){0,2}(?:props?|leaf|leaves|flowers?|stand|box|tray|hand|cloth)\b",
        r"\b(?:worn|wearing|lifestyle|outdoors?|in situ|on a model)\b",
    )
)


def beyond(text: str) -> list[str]:
    """The phrases of ``text`` asking for what the offline studio cannot make (a scene, a
    textured surface, props, the piece worn), outside any phrase it knows."""
    taken = [(m.start, m.end) for m in find(text)]
    found: list[str] = []
    for pattern in BEYOND:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(match.group(0).strip())
    return found
