"""The technical evaluator's checks: what each measures, its weight, its pass band, its fix.

Weights add up to 100. Inside its band a check scores 1; outside, the score falls linearly
to 0 at a stated limit, so a near miss costs little and a gross fault costs the whole weight.
Fixes are canonical vocabulary phrases (vocabulary.py), so the studio can act on them.

- background (15): transparent: pixels with alpha > 0 beyond the soft rim <= 0.1% of the frame.
  Opaque, measured on the 3% border band: white tone >= 0.96, flatness <= 0.015, cast <= 0.012;
  gradient tone 0.55-0.95, flatness <= 0.03, cast <= 0.015; dark tone <= 0.22, flatness
  <= 0.03, cast <= 0.02; every opaque backdrop grain (mean |Laplacian|) <= 0.01.
- fill (10): the product box's larger side / the frame's: 0.60-0.75 (macro 0.80-0.92,
  "fills N%" N +- 5%); 0 at 0.20 below or 0.15 above the band.
- centering (10): the box centre's offset from the frame centre <= 0.03 (0 at 0.12).
- sharpness (10): variance of the Laplacian inside the product at the image's own pixels
  >= 250 (0 at 100, on a log scale).
- exposure (20): the product's median tone 0.42-0.68 (dramatic 0.30-0.62), clipped highlights
  <= 2%, crushed shadows <= 2% (dramatic 6%).
- sparkle (5): mean local contrast of the product >= 0.036 (0 at 0.015).
- halo (10): width of the band around the product that is neither product nor backdrop
  <= 2.5 px (0 at 4 px).
- size_format (5): decoded format, size and alpha as asked (each mismatch costs half).
- similarity (5): hue histogram overlap with the reference's product >= 0.7 and box aspect
  agreement >= 0.8; skipped without references.
- colour (10): the product's mean colour against the reference's at matched lightness
  (Δa*b*, pixels/similarity.colour_shift: exposure and light moves read as 0) <= 3 (0 at
  10); skipped without references or when the prompt asks for a colour change in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentic_image_gen.core.types import ImageSettings, OutputFormat
from agentic_image_gen.pixels.arrays import FloatImage, Mask
from agentic_image_gen.pixels.boxes import framing
from agentic_image_gen.pixels.decode import Decoded
from agentic_image_gen.pixels.similarity import colour_shift
from agentic_image_gen.providers.local import measure as m
from agentic_image_gen.providers.local.vocabulary import MACRO_FILL, canonical, fill_phrase

Product = tuple[FloatImage, Mask]


@dataclass(frozen=True)
class Scene:
    """What every check may look at: the image, the product, what was asked."""

    image: Decoded
    mask: Mask
    crop: Product | None  # the product at analysis scale, None when none was found
    settings: ImageSettings
    backdrop: str  # "transparent", "white", "gradient", "dark" or "any"
    fill: float | None  # an explicit fill the user asked for
    dramatic: bool
    reference: Product | None
    recolour: bool = False  # the prompt asks for a colour or white-balance change


@dataclass
class Result:
    name: str
    weight: int
    score: float
    measured: dict[str, Any]
    band: str
    problem: str = ""
    fixes: tuple[str, ...] = ()
    skipped: bool = False
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.score = float(min(max(self.score, 0.0), 1.0))
        self.passed = self.skipped or self.score >= 0.999

    @property
    def lost(self) -> float:
        return 0.0 if self.skipped else self.weight * (1.0 - self.score)


def within(value: float, low: float, high: float, zero_low: float, zero_high: float) -> float:
    """1 inside [low, high]; falls linearly to 0 at zero_low below and zero_high above."""
    if value < low:
        return max(0.0, (value - zero_low) / (low - zero_low))
    if value > high:
        return max(0.0, (zero_high - value) / (zero_high - high))
    return 1.0


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _transparent_background(scene: Scene) -> Result:
    band = "alpha > 0 beyond the rim <= 0.001"
    if scene.image.alpha is None:
        problem = "the image has no transparency"
        return Result(
            "background", 15, 0.0, {"alpha": False}, band, problem, ("transparent background",)
        )
    stray = m.stray_alpha(scene.image, scene.mask)
    problem = f"{stray:.1%} of the frame outside the product is not fully transparent"
    score, fixes = within(stray, 0, 0.001, 0, 0.02), ("clean cut-out edges",)
    return Result("background", 15, score, {"stray": _r(stray, 5)}, band, problem, fixes)


BACKDROP_BANDS = {  # tone band and its zeros, flatness limit, cast limit
    "white": ((0.96, 1.0, 0.85, 1.01), 0.015, 0.012),
    "gradient": ((0.55, 0.95, 0.35, 1.01), 0.03, 0.015),
    "dark": ((0.0, 0.22, -0.01, 0.4), 0.03, 0.02),
}


def background(scene: Scene) -> Result:
    if scene.backdrop == "transparent":
        return _transparent_background(scene)
    tone, flatness, cast, grain = m.backdrop_stats(scene.image, scene.mask)
    kind = scene.backdrop
    if kind == "any":  # none was asked for: any clean studio backdrop will do
        kind = "white" if tone >= 0.9 else "dark" if tone <= 0.25 else "gradient"
    tone_band, flat_limit, cast_limit = BACKDROP_BANDS[kind]
    parts = {
        f"its tone is {tone:.2f}": within(tone, *tone_band),
        f"it is uneven ({flatness:.3f})": within(flatness, 0, flat_limit, 0, flat_limit * 4),
        f"it has a colour cast ({cast:.3f})": within(cast, 0, cast_limit, 0, cast_limit * 4),
        f"it is textured ({grain:.3f})": within(grain, 0, 0.01, 0, 0.04),
    }
    worst = min(parts, key=lambda k: parts[k])
    # Nothing asked and no studio backdrop at all (wrong tone, textured): the default, white.
    unfit = worst.startswith(("its tone", "it is textured"))
    fix_kind = "white" if scene.backdrop == "any" and unfit else kind
    measured = {"kind": kind, "tone": _r(tone), "flatness": _r(flatness, 4)}
    measured |= {"cast": _r(cast, 4), "grain": _r(grain, 4)}
    band = (
        f"{kind}: tone {tone_band[0]}-{tone_band[1]}, flatness <= {flat_limit}, "
        f"cast <= {cast_limit}, grain <= 0.01"
    )
    problem, fixes = (
        f"the {kind} backdrop is not clean: {worst}",
        (canonical("backdrop", backdrop=fix_kind),),
    )
    return Result("background", 15, min(parts.values()), measured, band, problem, fixes)


def fill(scene: Scene) -> Result:
    value, _ = framing(scene.mask)
    if scene.fill == MACRO_FILL:
        low, high, fix = 0.80, 0.92, "macro shot"
    elif scene.fill is not None:
        low, high, fix = scene.fill - 0.05, scene.fill + 0.05, fill_phrase(scene.fill)
    else:
        low, high, fix = 0.60, 0.75, fill_phrase(0.70)
    score = within(value, low, high, low - 0.2, min(1.0, high + 0.15))
    problem = f"the product fills {value:.0%} of the frame (want {low:.0%}-{high:.0%})"
    return Result("fill", 10, score, {"fill": _r(value)}, f"{low:.2f}-{high:.2f}", problem, (fix,))


def centering(scene: Scene) -> Result:
    _, offset = framing(scene.mask)
    problem = f"the product sits {offset:.0%} of the frame off centre"
    return Result(
        "centering",
        10,
        within(offset, 0, 0.03, 0, 0.12),
        {"offset": _r(offset)},
        "<= 0.03",
        problem,
        ("centered",),
    )


def sharpness(scene: Scene) -> Result:
    value = m.sharpness(scene.image.rgb, scene.mask) if scene.crop else 0.0
    score = within(float(np.log(max(value, 1.0))), float(np.log(250)), 99, float(np.log(100)), 100)
    problem = f"the product looks soft (Laplacian variance {value:.0f}, want >= 250)"
    return Result(
        "sharpness",
        10,
        score,
        {"laplacian_variance": _r(value, 1)},
        ">= 250",
        problem,
        ("sharp focus on details",),
    )


def exposure(scene: Scene) -> Result:
    median, clipped, crushed = m.tones(scene.image.rgb, scene.mask)
    low, high, crush_limit = (0.30, 0.62, 0.06) if scene.dramatic else (0.42, 0.68, 0.02)
    dark_or_bright = "dark" if median < low else "bright"
    parts = {
        f"the product is too {dark_or_bright} (median tone {median:.2f}, want {low:.2f}-"
        f"{high:.2f})": within(median, low, high, low - 0.1, high + 0.12),
        f"{clipped:.0%} of the product's highlights are clipped": within(clipped, 0, 0.02, 0, 0.15),
        f"{crushed:.0%} of the product's shadows are crushed": within(
            crushed, 0, crush_limit, 0, crush_limit + 0.13
        ),
    }
    worst = min(parts, key=lambda k: parts[k])
    fix = "balanced exposure" if worst.startswith("the product is") else "even, diffused lighting"
    measured = {"median": _r(median), "clipped": _r(clipped, 4), "crushed": _r(crushed, 4)}
    band = f"median {low}-{high}, clipped <= 0.02, crushed <= {crush_limit}"
    return Result("exposure", 20, min(parts.values()), measured, band, worst, (fix,))


def sparkle(scene: Scene) -> Result:
    value = m.local_contrast(*scene.crop) if scene.crop else 0.0
    problem = f"the product looks flat (local contrast {value:.3f}, want >= 0.036)"
    return Result(
        "sparkle",
        5,
        within(value, 0.036, 1, 0.015, 2),
        {"local_contrast": _r(value, 4)},
        ">= 0.036",
        problem,
        ("enhance gemstone brilliance",),
    )


def halo(scene: Scene) -> Result:
    width = m.halo(scene.image, scene.mask)
    problem = f"a {width:.1f} px soft or discoloured rim surrounds the product"
    return Result(
        "halo",
        10,
        within(width, 0, 2.5, 0, 4.0),
        {"width_px": _r(width, 2)},
        "<= 2.5 px",
        problem,
        ("clean cut-out edges",),
    )


def size_format(scene: Scene) -> Result:
    image, asked = scene.image, scene.settings
    problems = []
    expected = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[asked.output_format.value]
    if image.format != expected:
        problems.append(f"format {image.format or 'unknown'} (asked {expected})")
    if asked.dimensions and (image.width, image.height) != asked.dimensions:
        problems.append(f"size {image.width}x{image.height} (asked {asked.size})")
    if scene.backdrop == "transparent" and image.alpha is None:
        problems.append("no alpha channel (asked transparent)")
    if asked.output_format is OutputFormat.JPEG and image.mode != "RGB":
        problems.append(f"JPEG mode {image.mode} (want RGB)")
    measured = {"format": image.format, "size": f"{image.width}x{image.height}", "mode": image.mode}
    return Result(
        "size_format",
        5,
        1.0 - 0.5 * len(problems),
        measured,
        "as asked",
        "the file is not as asked: " + "; ".join(problems),
    )


def similarity(scene: Scene) -> Result:
    band, fixes = "colour >= 0.7, shape >= 0.8", ("faithful to the reference product",)
    if scene.reference is None or scene.crop is None:
        return Result(
            "similarity",
            5,
            0.0,
            {},
            band,
            "no product found to compare",
            fixes,
            skipped=scene.reference is None,
        )
    colour, shape = m.similarity(scene.crop, scene.reference)
    score = min(within(colour, 0.7, 1, 0.3, 2), within(shape, 0.8, 1, 0.5, 2))
    problem = f"the product differs from the reference (colour {colour:.2f}, shape {shape:.2f})"
    return Result(
        "similarity", 5, score, {"colour": _r(colour), "shape": _r(shape)}, band, problem, fixes
    )


COLOUR_BAND, COLOUR_ZERO = 3.0, 10.0  # Δa*b* of the mean colour: about 2-3 is just noticeable


def colour(scene: Scene) -> Result:
    """Colour drift: the metal's and stones' colour, apart from lightness (an exposure move
    may brighten the product; it must not turn its gold greener or its coral redder)."""
    band, fixes = f"Δa*b* <= {COLOUR_BAND:g}", (canonical("warmth", warmth="as-shot"),)
    if scene.reference is None or scene.crop is None or scene.recolour:
        problem = "no product found to compare" if scene.reference is not None else ""
        skipped = scene.reference is None or scene.recolour
        return Result("colour", 10, 0.0, {}, band, problem, fixes, skipped=skipped)
    shift = colour_shift(*scene.reference, *scene.crop)
    problem = f"the product's colour drifted from the reference (Δa*b* {shift:.1f})"
    score = within(shift, 0, COLOUR_BAND, 0, COLOUR_ZERO)
    return Result("colour", 10, score, {"delta_ab": _r(shift, 2)}, band, problem, fixes)


CHECKS: tuple[Callable[[Scene], Result], ...] = (
    background,
    fill,
    centering,
    sharpness,
    exposure,
    sparkle,
    halo,
    size_format,
    similarity,
    colour,
)
