"""``agentic-image-gen providers``: what is installed, each one's roles, needs and readiness."""

from __future__ import annotations

import dataclasses
import json
import os

from agentic_image_gen.engine.catalog import ProviderInfo, describe_providers


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
    return lines


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
