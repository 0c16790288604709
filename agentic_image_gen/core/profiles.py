"""Marketplace profiles: what a shop's listing image must be, as data.

A profile does two things. Its ``brief`` phrases join the user's prompt, so every evaluator
judges the rules and every prompter works toward them (the studio vocabulary's words, so the
offline providers act on them too). And its measurable rules (background, fill, size,
aspect, format, colour space) are checked, and fixed where no model is needed, on the file
delivered at the end of the run (engine/deliver.py). Sources and dates: docs/PROFILES.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

BackgroundRule = Literal["white", "light", "any"]


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    source: str  # where the rules come from (see docs/PROFILES.md)
    background: BackgroundRule  # white: RGB 255 exactly; light: a light, plain backdrop
    fill: tuple[float, float] | None  # product's larger side / the frame's, (low, high)
    min_long_side: int = 0
    min_short_side: int = 0
    max_side: int = 10_000
    aspects: tuple[tuple[int, int], ...] = ()  # allowed width:height; () any
    formats: tuple[str, ...] = ("png", "jpeg", "webp")  # accepted, the preferred first
    transparency: bool = False  # may the delivered file keep an alpha channel?
    target: tuple[int, int] | None = None  # the size the final pass makes, if any
    # No shop wants a thumbnail blown up: past this the file shows detail never photographed,
    # so the pass's enlargement is a rule of every profile (generate larger instead).
    max_upscale: float = 2.0
    brief: str = ""  # phrases added to the prompt, in the studio's vocabulary
    model_rules: tuple[str, ...] = ()  # what only a model can judge (text, logos, ...)

    @property
    def fill_target(self) -> float | None:
        return None if self.fill is None else round(sum(self.fill) / 2, 3)


_NO_MARKS = ("no text, logos, borders or watermarks",)
PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="amazon-main",
            title="Amazon main product image",
            source="Amazon Seller Central, Product image requirements (main image)",
            background="white",
            fill=(0.85, 0.95),
            min_long_side=1000,
            max_side=10_000,
            formats=("jpeg", "png"),
            target=(2000, 2000),
            brief="white seamless background, product fills 90% of the frame, centered",
            model_rules=_NO_MARKS,
        ),
        Profile(
            name="etsy",
            title="Etsy listing photo",
            source="Etsy Seller Handbook, listing photo guidelines",
            background="any",
            fill=(0.60, 0.90),
            min_short_side=2000,
            aspects=((4, 3), (1, 1)),
            formats=("jpeg", "png"),
            target=(2667, 2000),
            brief="",
        ),
        Profile(
            name="shopify",
            title="Shopify product image",
            source="Shopify Help Center, product media types and sizes",
            background="any",
            fill=(0.60, 0.90),
            min_long_side=2048,
            max_side=4472,
            aspects=((1, 1),),
            formats=("png", "jpeg", "webp"),
            transparency=True,
            target=(2048, 2048),
            brief="centered",
        ),
        Profile(
            name="google-merchant",
            title="Google Merchant Center image_link",
            source="Google Merchant Center Help, image link [image_link] requirements",
            background="light",
            fill=(0.75, 0.90),
            min_long_side=800,
            min_short_side=100,
            max_side=8000,
            formats=("jpeg", "png", "webp"),
            target=(1600, 1600),
            brief="white seamless background, product fills 80% of the frame, centered",
            model_rules=_NO_MARKS,
        ),
        Profile(
            name="instagram-feed",
            title="Instagram feed post (portrait)",
            source="Instagram Help Center, sizes for feed photos",
            background="any",
            fill=(0.50, 0.85),
            min_short_side=1080,
            max_side=1440,
            aspects=((4, 5), (1, 1)),
            formats=("jpeg",),
            target=(1080, 1350),
            brief="",
        ),
    )
}


def with_brief(prompt: str, profile: Profile | None) -> str:
    """The user's prompt with the profile's phrases (and its model-judged rules) added."""
    if profile is None:
        return prompt
    phrases = [p.strip() for p in profile.brief.split(",") if p.strip()]
    extra = [p for p in (*phrases, *profile.model_rules) if p.lower() not in prompt.lower()]
    return ", ".join([prompt.rstrip(" .,;:"), *extra]) if extra else prompt
