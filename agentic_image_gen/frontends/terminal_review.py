"""The CLI's reviewer: a run's review requests answered at the terminal.

Questions go to stderr (stdout carries only the JSON); answers are read from stdin without a
thread, so Ctrl-C while it waits interrupts the run as anywhere else.
"""

from __future__ import annotations

import asyncio
import os
import sys

from agentic_image_gen.core.review import ReviewDecision, ReviewRequest
from agentic_image_gen.frontends.error_output import printable

HELP = (
    "Enter = the evaluator's pick · N = continue from image N · a [N] = accept and stop · "
    "r = none is good, try the round again · add ': notes' for the prompter · "
    "'p: text' writes the next prompt"
)
FINAL_HELP = "Enter = approve the evaluator's pick · N = approve image N instead"


def parse_answer(line: str, request: ReviewRequest) -> ReviewDecision:
    """One line of answer as a decision; ValueError saying what is wrong."""
    head, sep, tail = line.strip().partition(":")
    words = head.split()
    if words[:1] == ["p"] and len(words) == 1 and request.kind == "round":
        return ReviewDecision(prompt=tail.strip() or None, by="terminal")
    notes = tail.strip() if sep else ""
    accept = retry = False
    if words[:1] == ["a"] and request.kind == "round":
        accept, words = True, words[1:]
    elif words == ["r"] and request.kind == "round":
        retry, words = True, []
    if len(words) > 1 or (words and not words[0].isdigit()):
        raise ValueError(f"not understood: {head.strip()!r}")
    pick = int(words[0]) if words else (None if retry else request.suggested)
    decision = ReviewDecision(pick=pick, accept=accept, retry=retry, notes=notes, by="terminal")
    request.check(decision)
    return decision


async def _read_line() -> str:
    """A line from stdin, read when the terminal has one (no blocking thread)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    fd = sys.stdin.fileno()
    buffer = bytearray()

    def readable() -> None:
        chunk = os.read(fd, 4096)
        buffer.extend(chunk)
        if (not chunk or b"\n" in buffer) and not done.done():
            done.set_result(buffer.decode("utf-8", "replace").split("\n", 1)[0])

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


class TerminalReviewer:
    """Shows the candidates of a review on stderr and reads the person's answer."""

    async def review(self, request: ReviewRequest) -> ReviewDecision:
        title = "final review" if request.kind == "final" else f"review of round {request.round}"
        lines = [f"\n{title}:"]
        for shown in request.candidates:
            mark = " (evaluator's pick)" if shown.iteration == request.suggested else ""
            lines.append(f"  #{shown.iteration} score {shown.score}{mark}: {shown.image_path}")
            lines.append(f"      {printable(' '.join((shown.feedback or '').split())[:160])}")
        print("\n".join(lines), file=sys.stderr, flush=True)
        while True:
            print(FINAL_HELP if request.kind == "final" else HELP, file=sys.stderr)
            print("> ", end="", file=sys.stderr, flush=True)
            try:
                return parse_answer(await _read_line(), request)
            except ValueError as exc:
                print(f"  {printable(str(exc))}", file=sys.stderr, flush=True)
