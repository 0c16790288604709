"""The ``technical`` evaluator: a score from measured checks, and fixes in studio words.

It judges against the user's original request (the backdrop, framing and mood it names)
with the same checks every turn, so scores compare across iterations. The score is the
weighted sum of the check scores (checks.py documents weights and bands); the feedback names
the checks that lost the most points and the vocabulary phrases that fix them, and every
number lands in ``Evaluation.details`` for anyone reading run.json; the fixes of the failing
checks in ``Evaluation.fixes`` for the prompter.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from typing import Any

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import ConfigurationError, ProviderError
from agentic_image_gen.core.types import (
    Evaluation,
    EvaluationRequest,
    ImageSettings,
    ReferenceImage,
)
from agentic_image_gen.inputs.imaging import NotAnImage
from agentic_image_gen.pixels.alpha import solid
from agentic_image_gen.pixels.arrays import FloatImage, Mask
from agentic_image_gen.pixels.decode import Decoded, decode
from agentic_image_gen.pixels.product import product_mask
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local import checks, offline, vocabulary
from agentic_image_gen.providers.local import measure as m
from agentic_image_gen.providers.local.completeness import (
    MISSING_LIMIT,
    Completeness,
    completeness,
    second_opinion,
)
from agentic_image_gen.providers.local.cutout import Cutout, cutout_for
from agentic_image_gen.providers.local.cutting import prepare_cutting
from agentic_image_gen.providers.local.junk import (
    Junk,
    Reference,
    dirt_line,
    junk_line,
    reference_photo,
    shot_junk,
    without_soft_shadow,
)
from agentic_image_gen.providers.local.memo import once
from agentic_image_gen.providers.local.segment import pool_for

WORST_NAMED = 3  # how many failing checks the feedback spells out with their fixes
INCOMPLETE_CAP = 60  # the score of a product that is not whole, whatever else is right
NOT_AS_ASKED_CAP = 60  # ... of a shot whose scene is not the one the prompt asks for
PASSING: int = RunConfig.model_fields["threshold"].default  # the loop's default threshold
# A cut that keeps some backdrop under junk.LIMIT scores at most just under PASSING, down to
# INCOMPLETE_CAP as the backdrop reaches that limit (junk.Junk.dirt).
SEEN_KEY = "local.reference_parts"  # the run's cache of independent looks at the references
SECOND_OPINION = "u2netp"  # the segmenter that double-checks a cut made by any other
LABELS = {
    "background": "background",
    "fill": "framing",
    "centering": "centering",
    "sharpness": "sharpness",
    "exposure": "exposure",
    "sparkle": "sparkle",
    "halo": "edge halo",
    "size_format": "size and format",
    "similarity": "similarity to the reference",
    "colour": "true colour",
}
# A colour change asked for in words (a white-balance phrase is in the vocabulary's warmth).
RECOLOUR = re.compile(
    r"\b(?:make|turn|change|recolou?r|dye|tint)\b[^.,;]{0,30}\b(?:gold|silver|platinum|"
    r"colou?r|hue|tone|white balance)\b",
    re.IGNORECASE,
)


def requested(original_prompt: str, settings: ImageSettings) -> dict[str, Any]:
    """What the user asked for, in the terms the checks use."""
    asked = vocabulary.mentioned(original_prompt)
    backdrop = asked.get("backdrop")
    if vocabulary.wants_transparent(settings, backdrop or ""):
        backdrop = "transparent"
    elif backdrop is not None:
        backdrop = vocabulary.opaque_backdrop(backdrop)
    return {
        "backdrop": backdrop or "any",
        "fill": asked.get("fill"),
        "dramatic": asked.get("light") == "dramatic",
        "recolour": "warmth" in asked or RECOLOUR.search(original_prompt) is not None,
        "beyond": offline.beyond(original_prompt),
    }


def reference_product(cut: Cutout) -> tuple[FloatImage, Mask]:
    """The reference's product as (rgb, mask) at the analysis scale the output is seen at."""
    body = solid(cut.alpha)
    decoded = Decoded("", "RGB", body.shape[1], body.shape[0], cut.rgb, None)
    return m.product_crop(decoded, body)


def assess(
    data: bytes,
    settings: ImageSettings,
    asked: dict[str, Any],
    cut: Cutout | None,
    seen: Mask | None = None,
) -> tuple[list[checks.Result], Completeness | None]:
    """Every check's result, and whether the product is whole (CPU-bound: run it in a
    thread). ``seen`` is the reference's product seen independently of the cut
    (``reference_parts``)."""
    image = decode(data)
    mask = product_mask(image)
    whole = None
    if cut is not None and seen is not None:
        whole = shot_completeness(image, mask, cut, seen)
    scene = checks.Scene(
        image=image,
        mask=mask,
        crop=m.product_crop(image, mask) if mask.any() else None,
        settings=settings,
        backdrop=asked["backdrop"],
        fill=asked["fill"],
        dramatic=asked["dramatic"],
        reference=reference_product(cut) if cut is not None else None,
        recolour=asked.get("recolour", False),
    )
    return [check(scene) for check in checks.CHECKS], whole


def shot_completeness(image: Decoded, mask: Mask, cut: Cutout, seen: Mask) -> Completeness | None:
    """Completeness of the shot: by its alpha channel when it has one; an opaque shot is
    measured against its backdrop two ways, the product's body and every faint part (white
    glass or a pale wire on a white sweep); each misses something the other sees, so a part
    counts as lost only when both ways lose it (else the better aligned is kept)."""
    if image.transparent:
        return completeness(mask, cut, seen)
    found = [
        completeness(shot, cut, seen, exact=False)
        for shot in (mask, product_mask(image, faint=True))
    ]
    measured = [result for result in found if result is not None]
    return max(measured, key=lambda result: (result.whole, result.pose)) if measured else None


async def reference_parts(reference: ReferenceImage, shared: dict[str, Any], cut_by: str) -> Mask:
    """The reference's product as seen independently of the segmenter ``cut_by`` that made
    the cut-out (completeness.second_opinion), once per run and reference, in a thread."""
    pool = pool_for(shared)
    key = f"{cut_by}:{pool.weights(SECOND_OPINION)}:{hashlib.sha256(reference.data).hexdigest()}"

    def look() -> Mask:
        second = None
        if cut_by != SECOND_OPINION:
            try:
                second = pool.get(SECOND_OPINION)
            except ConfigurationError:  # not installed here: the colour look alone
                second = None
        return second_opinion(decode(reference.data).rgb, second)

    return await once(shared, SEEN_KEY, key, look)


def junk_of(data: bytes, cut: Cutout, photo: Reference) -> Junk | None:
    """What the shot keeps that is not the product (junk.py; CPU-bound): an alpha shot's
    every solid pixel, an opaque shot's every faint part but its own soft shadow."""
    image = decode(data)
    if image.transparent:
        assert image.alpha is not None
        return shot_junk(solid(image.alpha), cut, photo)
    return shot_junk(without_soft_shadow(image), cut, photo)


def capped(feedback: str, score: int, reason: str) -> str:
    """``feedback`` under its new ``score``, the ``reason`` for the cap said first."""
    others = re.sub(r"^Score \d+/100[.:] *", "", feedback)
    return f"Score {score}/100. {reason} {others}"


def not_as_asked(asked: dict[str, Any], results: list[checks.Result]) -> str:
    """Why the shot is not the kind the prompt asks for, in one line ('' when it is): a
    scene, surface or prop the offline studio cannot make, or a backdrop of another tone
    than the one asked (a white sweep for a dark velvet). Such a shot never passes."""
    if asked.get("beyond"):
        named = ", ".join(f"'{phrase}'" for phrase in asked["beyond"])
        return (
            f"Not possible offline: the studio cannot make {named} (it composes the product "
            "as photographed on a plain white, grey or dark studio backdrop, and cannot add, "
            "remove or wear props); ask for one of those backdrops, or use a generator that "
            "paints scenes."
        )
    background = next((r for r in results if r.name == "background"), None)
    kind = asked.get("backdrop")
    if background is None or kind not in checks.BACKDROP_BANDS:
        return ""
    tone = background.measured.get("tone")
    if tone is None or checks.within(tone, *checks.BACKDROP_BANDS[kind][0]) > 0:
        return ""
    return f"Not the backdrop asked for: a {kind} backdrop was asked; this one's tone is {tone}."


def incomplete_line(whole: Completeness) -> str:
    share = f"{whole.missing:.0%}" if whole.missing >= 0.01 else "under 1 %"
    return (
        f"The product is not whole: {share} of it as the reference photo shows it "
        f"({whole.parts} piece{'s' if whole.parts != 1 else ''}: a band, chain, hook, bail or "
        f"stone, reaching {whole.reaches:.0%} of the product's size away from what is left) is "
        f"missing from the shot; the cut-out must keep every part."
    )


def score_of(results: list[checks.Result]) -> int:
    counted = [r for r in results if not r.skipped]
    total = sum(r.weight for r in counted)
    if not total:
        return 0
    # Rounded down, so 100 means every check passed, never a near miss rounded up.
    return math.floor(100 * sum(r.weight * r.score for r in counted) / total + 1e-9)


def worst_first(results: list[checks.Result]) -> list[checks.Result]:
    failing = [r for r in results if not r.passed]
    return sorted(failing, key=lambda r: -r.lost)


def _fix_text(result: checks.Result) -> str:
    return " and ".join(f"'{phrase}'" for phrase in result.fixes)


def _asked(phrase: str, prompt: str) -> bool:
    return phrase.lower() in prompt.lower()


def _action(result: checks.Result, prompt: str, locked: bool = False) -> str:
    """What to do about a failing check: add its fix, or, when the prompt already says it,
    say so (asking again for what is asked changes nothing); a retouch a locked product
    forbids is named as not possible."""
    if locked and result.fixes and all(map(vocabulary.forbidden_by_lock, result.fixes)):
        return " (the product is locked as photographed: not fixable without retouching it)"
    if not result.fixes:
        return " (check --size and --format)"
    if all(_asked(phrase, prompt) for phrase in result.fixes):
        return f" although the prompt already asks for {_fix_text(result)}"
    return f": add {_fix_text(result)}"


def feedback(
    score: int, results: list[checks.Result], prompt: str = "", locked: bool = False
) -> str:
    """One short paragraph: the worst failures with what they measured and their fixes, then
    the other failures with their fixes only, then what passes."""
    failing = worst_first(results)
    if not failing:
        return f"Score {score}/100: every technical check passes; the shot is shop-ready."
    named = []
    for result in failing[:WORST_NAMED]:
        named.append(f"{LABELS[result.name]}: {result.problem}{_action(result, prompt, locked)}")
    text = f"Score {score}/100. Fix first: " + "; ".join(named) + "."
    rest = [
        f"{LABELS[r.name]} (add {_fix_text(r)})"
        if _allowed(r.fixes, locked)
        else LABELS[r.name]
        for r in failing[WORST_NAMED:]
    ]
    if rest:
        text += " Also below par: " + ", ".join(rest) + "."
    passing = [LABELS[r.name] for r in results if r.passed and not r.skipped]
    if passing:
        text += " Passing: " + ", ".join(passing) + "."
    return text


def _allowed(fixes: tuple[str, ...], locked: bool) -> tuple[str, ...]:
    """The fixes a run may act on: with a locked product, none that retouches it."""
    return tuple(p for p in fixes if not (locked and vocabulary.forbidden_by_lock(p)))


def fixes_of(results: list[checks.Result], prompt: str = "", locked: bool = False) -> list[str]:
    """The fixes of every failing check, worst first, each phrase once, except those the
    prompt already says and (with a locked product) those that retouch it."""
    fixes: list[str] = []
    for result in worst_first(results):
        allowed = _allowed(result.fixes, locked)
        fixes += [p for p in allowed if p not in fixes and not _asked(p, prompt)]
    return fixes


def details(results: list[checks.Result], asked: dict[str, Any]) -> dict[str, Any]:
    """Every check's numbers (the report shows them)."""
    failing = worst_first(results)
    return {
        "evaluator": "technical",
        "requested": asked,
        "checks": {
            r.name: {
                "weight": r.weight,
                "score": round(r.score, 3),
                "passed": r.passed,
                "skipped": r.skipped,
                "band": r.band,
                "measured": r.measured,
                "fixes": list(r.fixes),
            }
            for r in results
        },
        "worst": [r.name for r in failing[:WORST_NAMED]],
    }


class TechnicalEvaluator:
    """Measured checks, no model: the offline evaluator, usable with any generator."""

    uses_product = True  # measures every image against the reference's product

    def __init__(self, shared: dict[str, Any]) -> None:
        self._shared = shared

    @classmethod
    async def create(cls, context: ProviderContext) -> TechnicalEvaluator:
        return cls(await prepare_cutting(context))

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        refs = request.references
        cut = await cutout_for(refs[0], self._shared) if refs else None
        seen = None
        if cut is not None and not cut.from_alpha_channel:
            seen = await reference_parts(refs[0], self._shared, cut.segmenter)
        asked = requested(request.original_prompt, request.settings)
        try:
            results, whole = await asyncio.to_thread(
                assess, request.image.data, request.settings, asked, cut, seen
            )
        except NotAnImage as exc:
            raise ProviderError(f"the technical evaluator cannot read the image: {exc}") from exc
        score = min(max(score_of(results), 0), 100)
        text = feedback(score, results, request.prompt, request.locked)
        info = details(results, asked)
        info["segmenter"] = cut.segmenter if cut is not None else None
        info["completeness"] = None
        if whole is not None:
            info["completeness"] = {
                "missing": round(whole.missing, 4),
                "parts": whole.parts,
                "whole": whole.whole,
                "limit": MISSING_LIMIT,
                "reaches": round(whole.reaches, 3),
                "pose": round(whole.pose, 3),
                "compared": whole.compared,
            }
            if not whole.whole:
                score = min(score, INCOMPLETE_CAP)
                text = capped(text, score, f"{incomplete_line(whole)} Other checks:")
        if seen is not None:
            photo = await reference_photo(refs[0], self._shared)
            assert cut is not None
            mess = await asyncio.to_thread(junk_of, request.image.data, cut, photo)
            info["junk"] = None
            if mess is not None:
                info["junk"] = {
                    "shares": {kind: round(share, 4) for kind, share in mess.shares.items()},
                    "specks": mess.specks,
                    "found": mess.found,
                    "clean": mess.clean,
                    "through": round(mess.through, 4),
                }
                if not mess.clean:
                    score = min(score, INCOMPLETE_CAP)
                    text = capped(text, score, junk_line(mess))
                elif mess.dirt > 0.0:
                    top = PASSING - 1
                    cap = round(top - (top - INCOMPLETE_CAP) * min(1.0, mess.dirt))
                    if score > cap:
                        score = cap
                        text = capped(text, score, dirt_line(mess))
        refusal = not_as_asked(asked, results)
        if refusal:
            score = min(score, NOT_AS_ASKED_CAP)
            text = capped(text, score, f"{refusal} Other checks:")
        fixes = fixes_of(results, request.prompt, request.locked)
        return Evaluation(score=score, feedback=text, fixes=fixes, details=info)
