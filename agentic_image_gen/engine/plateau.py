"""When a run has stopped improving: more rounds would only spend time and money.

Two signs, each enough: the next round would repeat a prompt an earlier round already used
(a deterministic provider would make the same image again), or ``patience`` rounds in a row
brought no gain over the best score so far.
"""

from __future__ import annotations

from agentic_image_gen.core.result import RunResult


def _normalised(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def repeats_a_round(result: RunResult, prompt: str | None) -> bool:
    if prompt is None:
        return False
    used = {_normalised(group[0].prompt) for group in result.rounds().values()}
    return _normalised(prompt) in used


def stalled(result: RunResult, patience: int) -> bool:
    """True when the last ``patience`` rounds did not beat the best of the rounds before them
    (``patience`` 0: never)."""
    scores = [best.score for best in result.lineage()]
    if patience <= 0 or len(scores) <= patience:
        return False
    return max(scores[-patience:]) <= max(scores[:-patience])
