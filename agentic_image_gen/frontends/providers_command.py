"""``agentic-image-gen providers``: what is installed, each one's roles, needs and readiness."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from agentic_image_gen.engine.installed import ProviderInfo, describe_providers

_SHORT = {
    "input": "in",
    "cached_input": "cached",
    "image_input": "image in",
    "cached_image_input": "cached image",
    "image_output": "image out",
    "output": "out",
}


def price_lines(prices: dict[str, Any]) -> list[str]:
    """Each model's figures with a note number; the notes (sources, estimates) below."""
    if not prices:
        return []
    notes: dict[str, int] = {}

    def note(source: str, estimated: bool) -> str:
        number = notes.setdefault(source, len(notes) + 1)
        return f"estimate [{number}]" if estimated else f"[{number}]"

    lines = ["  prices:    USD per 1M tokens, or per 1024x1024 image (--prices FILE overrides)"]
    width = max(len(model) for model in prices["models"])
    for model, entry in prices["models"].items():
        tokens = entry.get("per_million_tokens")
        if tokens is not None:
            figures = ", ".join(
                f"{_SHORT[name]} {value:g}"
                for name, value in tokens.items()
                if name in _SHORT and not (name == "image_output" and value == tokens["output"])
            )
        else:
            per_image = entry.get("per_image_1024", {})
            figures = "per image " + ", ".join(f"{q} {v:g}" for q, v in per_image.items())
        marked = note(entry["source"], entry["estimated"])
        lines.append(f"    {model:<{width}}  {figures}  {marked}")
    counts = ", ".join(
        f"{quality} {count['tokens']} {note(count['source'], count['estimated'])}"
        for quality, count in prices["image_tokens_1024"].items()
    )
    if counts:
        lines.append(f"    image output tokens at 1024x1024: {counts}")
    lines += [f"    [{number}] {source}" for source, number in notes.items()]
    return lines


def _text(info: ProviderInfo) -> list[str]:
    state = "usable" if info.usable else f"not usable: {info.problem}"
    lines = [f"{info.name}  ({state})", f"  {info.summary}"]
    for role, names in info.roles.items():
        if names:
            others = "".join(f", {name}" for name in names[1:])
            lines.append(f"  {role + ':':<11}{names[0]} (default){others}")
    for need in info.needs:
        lines.append(f"  needs:     {need}")
    for option, value in info.options.items():
        variable = info.environment.get(option)
        source = f"  [{variable}]" if variable else ""
        lines.append(f"  option:    {info.name}.{option} = {value}{source}")
    return lines + price_lines(info.prices)


def list_providers(as_json: bool) -> int:
    infos = describe_providers(os.environ)
    if as_json:
        rows = [dataclasses.asdict(info) | {"usable": info.usable} for info in infos]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for number, info in enumerate(infos):
        if number:
            print()
        print("\n".join(_text(info)))
    return 0
