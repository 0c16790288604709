"""``agentic-image-gen profiles``: each marketplace profile's rules, as the final pass applies
them (sources in docs/PROFILES.md)."""

from __future__ import annotations

import json

from agentic_image_gen.core.profiles import PROFILES, Profile


def _rules(profile: Profile) -> list[str]:
    background = {
        "white": "pure white, RGB 255",
        "light": "white, grey or light, plain",
        "any": "any",
    }[profile.background]
    lines = [f"background: {background}"]
    if profile.fill is not None:
        lines.append(f"fill: the product's larger side {profile.fill[0]:.0%}-{profile.fill[1]:.0%}")
    size = f"longest side {profile.min_long_side}-{profile.max_side} px"
    if profile.min_short_side:
        size += f", shortest side >= {profile.min_short_side} px"
    lines.append(f"size: {size}")
    if profile.aspects:
        lines.append("aspect: " + " or ".join(f"{w}:{h}" for w, h in profile.aspects))
    lines.append("format: " + " or ".join(profile.formats) + ", sRGB")
    lines.append("transparency: " + ("allowed" if profile.transparency else "no"))
    if profile.target:
        lines.append(f"delivered at: {profile.target[0]}x{profile.target[1]} px")
    lines += [f"judged by the evaluator: {rule}" for rule in profile.model_rules]
    if profile.brief:
        lines.append(f"added to the prompt: {profile.brief}")
    return lines


def list_profiles(as_json: bool) -> int:
    if as_json:
        rows = [profile.model_dump() | {"rules": _rules(profile)} for profile in PROFILES.values()]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for number, profile in enumerate(PROFILES.values()):
        if number:
            print()
        print(f"{profile.name}  ({profile.title}; source: {profile.source})")
        print("\n".join(f"  {line}" for line in _rules(profile)))
    return 0
