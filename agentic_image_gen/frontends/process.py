"""What a command handler may use of the process it runs in (a plain class: it loads before
the signal handlers are in place, so it imports next to nothing)."""

from __future__ import annotations

from typing import Any

from agentic_image_gen.frontends.signals import Signals


class Context:
    """What a handler may use of the process: its signals, and stdout's one JSON object."""

    def __init__(self, signals: Signals) -> None:
        self.signals = signals
        self.printed = False  # stdout has its JSON: an error then goes to stderr alone

    def print_json(self, value: Any) -> None:
        from agentic_image_gen.frontends.json_output import print_json

        self.printed = True
        print_json(value)
