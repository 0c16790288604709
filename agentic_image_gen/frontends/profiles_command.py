"""``agentic-image-gen profiles``: each marketplace profile's rules, as the final pass applies
them (sources in docs/PROFILES.md, whose table is ``markdown_table()``, checked by a test)."""

from __future__ import annotations

import json
from typing import Any

from agentic_image_gen.core.profiles import PROFILES, Profile

_BACKGROUNDS = {
    "white": "pure white, RGB 255",
    "light": "white, grey or light, plain",
    "any": "any",
}
_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}


def _fill(profile: Profile) -> str:
    if profile.fill is None:
        return "any"
    return f"{profile.fill[0] * 100:.0f}-{profile.fill[1] * 100:.0f} %"


def _size(profile: Profile) -> str:
    longest = (
        f"{profile.min_long_side}-{profile.max_side}"
        if profile.min_long_side
        else f"<= {profile.max_side}"
    )
    size = f"longest side {longest} px"
    if profile.min_short_side:
        size += f", shortest side >= {profile.min_short_side} px"
    return size


def _aspects(profile: Profile) -> str:
    return " or ".join(f"{w}:{h}" for w, h in profile.aspects) or "any"


def _formats(profile: Profile) -> str:
    names = [_FORMATS.get(name, name) for name in profile.formats]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"{listed}, sRGB"


def _upscaling(profile: Profile) -> str:
    return f"at most {profile.max_upscale:g}x"


def _delivered(profile: Profile) -> str:
    return f"{profile.target[0]}x{profile.target[1]}" if profile.target else "as made"


def _rules(profile: Profile) -> list[str]:
    lines = [f"background: {_BACKGROUNDS[profile.background]}"]
    if profile.fill is not None:
        lines.append(f"fill: the product's larger side {_fill(profile)}")
    lines.append(f"size: {_size(profile)}")
    if profile.aspects:
        lines.append(f"aspect: {_aspects(profile)}")
    lines.append(f"format: {_formats(profile)}")
    lines.append("transparency: " + ("allowed" if profile.transparency else "no"))
    if profile.target:
        lines.append(f"delivered at: {_delivered(profile)} px")
    lines.append(f"upscaling: {_upscaling(profile)} (else generate larger)")
    lines += [f"judged by the evaluator: {rule}" for rule in profile.model_rules]
    if profile.brief:
        lines.append(f"added to the prompt: {profile.brief}")
    return lines


def markdown_table() -> str:
    """The profiles' rules as docs/PROFILES.md shows them: made from ``PROFILES``, so the two
    cannot disagree (tests/test_profiles.py checks the file holds exactly this table)."""
    rows = [
        "| profile | background | product fill (larger side) | size | aspect | format "
        "| transparency | delivered at | upscaling |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for profile in PROFILES.values():
        cells = (
            f"`{profile.name}`",
            _BACKGROUNDS[profile.background],
            _fill(profile),
            _size(profile),
            _aspects(profile),
            _formats(profile),
            "yes" if profile.transparency else "no",
            _delivered(profile),
            _upscaling(profile),
        )
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def profile_rows() -> list[dict[str, Any]]:
    """Each profile as JSON-ready data with its rules in words (``profiles --json``, MCP)."""
    return [
        profile.model_dump(mode="json") | {"rules": _rules(profile)}
        for profile in PROFILES.values()
    ]


def list_profiles(as_json: bool) -> int:
    if as_json:
        print(json.dumps(profile_rows(), indent=2, ensure_ascii=False))
        return 0
    for number, profile in enumerate(PROFILES.values()):
        if number:
            print()
        print(f"{profile.name}  ({profile.title}; source: {profile.source})")
        print("\n".join(f"  {line}" for line in _rules(profile)))
    return 0
