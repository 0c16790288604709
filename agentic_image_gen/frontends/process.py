"""What a command handler may use of the process it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentic_image_gen.frontends.signals import Signals


@dataclass
class Context:
    """What a handler may use of the process: its signals, and stdout's one JSON object."""

    signals: Signals
    printed: bool = False  # stdout has its JSON: an error then goes to stderr alone

    def print_json(self, value: Any) -> None:
        from agentic_image_gen.frontends.json_output import print_json

        self.printed = True
        print_json(value)
