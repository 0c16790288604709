"""The studio's vocabulary: prompt phrases that set how a product shot is composed.

One table serves three readers: the studio applies the phrases it finds, the technical
evaluator names fixes with the canonical phrase of a slot, and the rules prompter writes those
phrases into the next prompt. A slot holds one choice; the last phrase of a slot in a prompt
wins; a slot the prompt does not mention keeps the previous turn's choice.

Phrases (first = the canonical phrase fixes use; then aliases) and what they set:

- backdrop: "white seamless background" (clean white, white background) flat pure white;
  "neutral gradient background" (neutral gradient, grey gradient, grey background) soft
  neutral grey; "dark reflective surface" (reflective surface, dark/black background, and
  the dark surfaces it has no texture for: dark velvet, dark slate, black marble) near-black
  floor with a mirrored, fading reflection; "transparent background" (cut-out) alpha 0
  outside. Scenes, surfaces and props it cannot make are named by offline.beyond.
- fill: "product fills N% of the frame" (the product box's larger side); "macro shot" (macro,
  close-up) fills 85% and centres.
- centered: "centered" (centred, center the product) puts the product in the middle.
- exposure: "balanced exposure" (bright exposure, well exposed) takes the product's median
  tone to 0.5 with a gamma, so nothing clips.
- light: "soft studio lighting" (soft light) gentler contrast; "even, diffused lighting"
  (diffused, even lighting) evens the light across the product and lifts the shadows;
  "dramatic lighting" (dramatic, single light source) stronger S-curve contrast.
- warmth: "warm gold tones" (warm tones, warmer white balance) warmer white balance;
  "neutral white balance" (neutral colour) colours as shot; "keep the product's true colour"
  (true colour) undoes a white-balance move (the fix for colour drift). Naming a metal
  ("yellow gold", "rose gold", "sterling") describes the product, never asks to recolour it.
- sharpen: "sharp focus on details" (sharp focus, crisp detail) a thresholded unsharp mask
  sized to the enlargement (no denoising: it would erase engraving and milgrain too).
- brilliance: "enhance gemstone brilliance" (sparkle, highlight facets, rim lighting) clarity
  and brighter speculars; the colours stay the product's.
- edges: "clean cut-out edges" (clean edges, no halo) smoother contour, choked matte, rim
  colours taken from inside the product.
- shadow: "soft contact shadow" (soft shadow) / "no shadow" on white and gradient backdrops.
- fidelity: "faithful to the reference product" no studio effect (the studio always keeps the
  product); it is the fix other generators need when the product drifts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentic_image_gen.core.types import Background, ImageSettings, OutputFormat

BACKDROPS = ("white", "gradient", "dark", "transparent")
EXPOSURES = ("as-shot", "balanced")
LIGHTS = ("natural", "soft", "even", "dramatic")
WARMTHS = ("as-shot", "warm", "neutral")
EDGES = ("as-cut", "clean")
FILL_RANGE = (0.3, 0.95)
MACRO_FILL = 0.85


Backdrop = Literal["white", "gradient", "dark", "transparent"]
Exposure = Literal["as-shot", "balanced"]
Light = Literal["natural", "soft", "even", "dramatic"]
Warmth = Literal["as-shot", "warm", "neutral"]
Edges = Literal["as-cut", "clean"]


class StudioSettings(BaseModel):
    """Every studio choice. Defaults are 'as shot': turn 1 changes only what the prompt asks.

    Strict and closed: a continuation token that does not hold exactly these (a damaged or
    foreign token) is refused rather than half-applied."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    backdrop: Backdrop = "white"
    fill: float | None = Field(default=None, ge=FILL_RANGE[0], le=FILL_RANGE[1])
    centered: bool = False
    exposure: Exposure = "as-shot"
    light: Light = "natural"
    warmth: Warmth = "as-shot"
    sharpen: bool = False
    brilliance: bool = False
    edges: Edges = "as-cut"
    shadow: bool = True


def settings_from_dict(data: Any) -> StudioSettings:
    """Every field present and valid; raises ValueError on anything unexpected."""
    if not isinstance(data, dict) or set(data) != set(StudioSettings.model_fields):
        raise ValueError("not a studio settings object")
    if isinstance(data["fill"], int) and not isinstance(data["fill"], bool):
        data = {**data, "fill": float(data["fill"])}  # JSON has no float for 1.0 vs 1
    try:
        return StudioSettings.model_validate(data)
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0]) from exc


def replace(settings: StudioSettings, **changes: Any) -> StudioSettings:
    """A copy with ``changes``, validated like any other settings."""
    return StudioSettings.model_validate({**settings.model_dump(), **changes})


@dataclass(frozen=True)
class Term:
    """A phrase family: the canonical phrase (what fixes say) and aliases for one choice."""

    slot: str
    canonical: str
    aliases: tuple[str, ...]
    values: tuple[tuple[str, Any], ...]


def _term(slot: str, phrases: str, **values: Any) -> Term:
    canonical, *aliases = (phrase.strip() for phrase in phrases.split("|"))
    return Term(slot, canonical, tuple(aliases), tuple(values.items()))


TERMS: tuple[Term, ...] = (
    _term(
        "backdrop",
        "white seamless background|white seamless|clean white|white background|"
        "pure white|white backdrop",
        backdrop="white",
    ),
    _term(
        "backdrop",
        "neutral gradient background|neutral gradient|gradient background|"
        "grey gradient|gray gradient|gradient backdrop|grey background|gray background|"
        "light grey background|light gray background|grey backdrop|gray backdrop",
        backdrop="gradient",
    ),
    _term(
        "backdrop",
        "dark reflective surface|reflective surface|dark reflective|"
        "black reflective|dark background|black background|mirror surface|"
        # Dark surfaces the studio has no texture for: its dark floor is the nearest.
        "dark velvet background|dark velvet|black velvet|black velvet background|"
        "dark slate background|dark slate|black slate|slate background|slate surface|"
        "dark stone background|black stone|black marble|charcoal background|"
        "dark backdrop|black backdrop|dark surface|black surface",
        backdrop="dark",
    ),
    _term(
        "backdrop",
        "transparent background|transparent|cut-out|cutout|no background",
        backdrop="transparent",
    ),
    _term("fill", "macro shot|macro|close-up|close up", fill=MACRO_FILL, centered=True),
    _term(
        "centered",
        "centered|centred|center the product|centre the product|"
        "centered composition|in the center|in the centre",
        centered=True,
    ),
    _term(
        "exposure",
        "balanced exposure|bright exposure|well exposed|well-exposed|"
        "bright, balanced exposure|properly exposed|correct exposure|brighter",
        exposure="balanced",
    ),
    _term(
        "light",
        "soft studio lighting|soft studio light|soft light|soft lighting|softbox",
        light="soft",
    ),
    _term(
        "light",
        "even, diffused lighting|diffused lighting|diffused light|diffused|"
        "even lighting|even light",
        light="even",
    ),
    _term(
        "light", "dramatic lighting|dramatic|single light source|low-key|low key", light="dramatic"
    ),
    _term(
        "warmth",
        "warm gold tones|warm tones|warm light|warmer white balance|warm white balance|"
        "warmer tones|warmer colours|warmer colors",
        warmth="warm",
    ),
    _term(
        "warmth",
        "neutral white balance|neutral colour|neutral color|cooler white balance",
        warmth="neutral",
    ),
    _term(
        "warmth",
        "keep the product's true colour|true colour|true color|true colours|true colors|"
        "true-to-life colour|true-to-life color",
        warmth="as-shot",
    ),
    _term(
        "sharpen",
        "sharp focus on details|sharp focus|crisp detail|crisp details|tack sharp|sharp details",
        sharpen=True,
    ),
    _term(
        "brilliance",
        "enhance gemstone brilliance|gemstone brilliance|brilliance|sparkle|"
        "highlight facets|rim lighting",
        brilliance=True,
    ),
    _term(
        "edges", "clean cut-out edges|clean edges|crisp edges|no halo|clean cutout", edges="clean"
    ),
    _term(
        "fidelity",
        "faithful to the reference product|exactly as in the reference|"
        "same product as the reference|match the reference",
    ),
    _term("shadow", "soft contact shadow|contact shadow|soft shadow", shadow=True),
    _term("shadow", "no shadow|without shadow|without a shadow|shadowless", shadow=False),
)
FILL_PATTERN = re.compile(r"\b(?:fills?|filling)\s+(\d{1,3})\s*%\s+of\s+the\s+frame\b")


def fill_phrase(fill: float) -> str:
    return f"product fills {round(fill * 100)}% of the frame"


def canonical(slot: str, **values: Any) -> str:
    """The phrase a fix names for a slot's choice (fill takes its number)."""
    if slot == "fill" and values.get("fill") not in (None, MACRO_FILL):
        return fill_phrase(float(values["fill"]))
    for term in TERMS:
        if term.slot == slot and all(dict(term.values).get(k) == v for k, v in values.items()):
            return term.canonical
    raise KeyError(f"no phrase for {slot} {values}")


def _patterns() -> list[tuple[re.Pattern[str], Term]]:
    pairs = [(phrase, term) for term in TERMS for phrase in (term.canonical, *term.aliases)]
    pairs.sort(key=lambda pair: -len(pair[0]))
    return [(re.compile(rf"(?<![\w-]){re.escape(p)}(?![\w-])"), term) for p, term in pairs]


_PATTERNS = _patterns()


@dataclass(frozen=True)
class Mention:
    """One vocabulary phrase found in a text, where, and what it sets."""

    start: int
    end: int
    slot: str
    phrase: str
    values: tuple[tuple[str, Any], ...]


def find(text: str) -> list[Mention]:
    """Every phrase in reading order; longer phrases win where phrases overlap."""
    lowered = text.lower()
    taken = [False] * len(lowered)
    found: list[Mention] = []
    for match in FILL_PATTERN.finditer(lowered):
        fill = min(max(int(match.group(1)) / 100, FILL_RANGE[0]), FILL_RANGE[1])
        found.append(
            Mention(match.start(), match.end(), "fill", fill_phrase(fill), (("fill", fill),))
        )
        taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    for pattern, term in _PATTERNS:
        for match in pattern.finditer(lowered):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            found.append(
                Mention(match.start(), match.end(), term.slot, term.canonical, term.values)
            )
    return sorted(found, key=lambda mention: mention.start)


def mentioned(text: str) -> dict[str, Any]:
    """The values a text sets explicitly, the last mention of each slot winning."""
    values: dict[str, Any] = {}
    for mention in find(text):
        values.update(mention.values)
    return values


def apply(previous: StudioSettings, prompt: str) -> StudioSettings:
    """The previous turn's settings with whatever this prompt says applied on top."""
    return replace(previous, **mentioned(prompt))


# What a round's later candidates try: candidate k (k >= 1) makes the k-th of these moves
# that changes a choice the prompt left open and shows a different picture, in the order a
# photographer would reach for them. All are safe for a product shot; the evaluator decides
# which one helped.
EXPLORATIONS: tuple[dict[str, Any], ...] = (
    {"exposure": "balanced"},
    {"light": "soft"},
    {"centered": True},
    {"sharpen": True},
    {"light": "even"},
    {"brilliance": True},
    {"edges": "clean"},
)
# What --lock-product keeps as shot: every move that changes the product's own pixels.
LOCKED: dict[str, Any] = {
    "exposure": "as-shot",
    "light": "natural",
    "warmth": "as-shot",
    "sharpen": False,
    "brilliance": False,
    "edges": "as-cut",
}
# ... so a locked product's candidates vary the scene around it: the backdrop and the shadow.
SCENE_EXPLORATIONS: tuple[dict[str, Any], ...] = (
    {"backdrop": "gradient"},
    {"backdrop": "dark"},
    {"shadow": False},
    {"backdrop": "white"},
)


def forbidden_by_lock(phrase: str) -> bool:
    """Whether a fix phrase asks for a retouch of the product that a lock forbids."""
    return any(
        mention.slot in LOCKED and dict(mention.values).get(mention.slot) != LOCKED[mention.slot]
        for mention in find(phrase)
    )


def seen(settings: StudioSettings, image: ImageSettings) -> StudioSettings:
    """What a picture shows of ``settings``: a transparent one has no backdrop or shadow,
    a dark floor no shadow (its reflection stands in)."""
    if wants_transparent(image, settings.backdrop):
        return replace(settings, backdrop="transparent", shadow=False)
    backdrop = opaque_backdrop(settings.backdrop)
    return replace(settings, backdrop=backdrop, shadow=settings.shadow and backdrop != "dark")


def candidates(
    settings: StudioSettings, prompt: str, image: ImageSettings, locked: bool = False
) -> list[StudioSettings]:
    """A round's different pictures, in order: exactly what the prompt says, then each move
    that changes a choice the prompt left open into a picture not made yet (a locked
    product: only the scene's moves)."""
    base = replace(settings, **LOCKED) if locked else settings
    pinned = set(mentioned(prompt))
    found, shown = [base], [seen(base, image)]
    for move in SCENE_EXPLORATIONS if locked else EXPLORATIONS:
        if pinned & set(move):
            continue
        option = replace(base, **move)
        look = seen(option, image)
        if look not in shown:
            found.append(option)
            shown.append(look)
    return found


def explore(
    settings: StudioSettings,
    prompt: str,
    variant: int,
    image: ImageSettings | None = None,
    locked: bool = False,
) -> StudioSettings:
    """The settings of candidate ``variant`` of a round (0: exactly what the prompt says);
    past the different pictures there are, the moves come round again."""
    options = candidates(settings, prompt, image or ImageSettings(), locked)
    if variant < len(options):
        return options[variant]
    return options[1 + (variant - 1) % (len(options) - 1)] if len(options) > 1 else options[0]


def wants_transparent(image: ImageSettings, backdrop: str) -> bool:
    """The --background flag decides; ``auto`` lets the prompt ask for a cut-out."""
    if image.background is Background.TRANSPARENT:
        return True
    return (
        image.background is Background.AUTO
        and backdrop == "transparent"
        and image.output_format is not OutputFormat.JPEG
    )


def opaque_backdrop(backdrop: str) -> str:
    """An opaque output cannot be transparent: it falls back to white seamless."""
    return "white" if backdrop == "transparent" else backdrop
