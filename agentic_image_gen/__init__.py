"""agentic-image-gen: generate, evaluate and refine product images until they are good enough.

The public API, for scripts, notebooks, servers and other front ends::

    from agentic_image_gen import RunConfig, Session

    async with Session() as session:
        result = await session.run(RunConfig(prompt="...", refs=["ring.jpg"]), on_event=print)

Names load on first use, so ``import agentic_image_gen`` (and ``--help``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentic_image_gen.core.version import __version__

_EXPORTS = {
    "Session": "agentic_image_gen.engine.session",
    "run_sync": "agentic_image_gen.engine.session",
    "RESUMABLE": "agentic_image_gen.engine.session",
    "RunConfig": "agentic_image_gen.core.config",
    "ProviderNames": "agentic_image_gen.core.config",
    "ImageSettings": "agentic_image_gen.core.types",
    "RunResult": "agentic_image_gen.core.result",
    "RunOutput": "agentic_image_gen.core.output",
    "RunSummary": "agentic_image_gen.core.output",
    "Event": "agentic_image_gen.core.events",
    "RunStarted": "agentic_image_gen.core.events",
    "StageStarted": "agentic_image_gen.core.events",
    "ImageSaved": "agentic_image_gen.core.events",
    "ImageScored": "agentic_image_gen.core.events",
    "ReviewRequested": "agentic_image_gen.core.events",
    "RunFinished": "agentic_image_gen.core.events",
    "Snapshot": "agentic_image_gen.core.events",
    "Reviewer": "agentic_image_gen.core.review",
    "ReviewRequest": "agentic_image_gen.core.review",
    "ReviewDecision": "agentic_image_gen.core.review",
    "ReviewRecord": "agentic_image_gen.core.review",
    "Candidate": "agentic_image_gen.core.review",
    "PendingReviews": "agentic_image_gen.engine.review",
    "Limiter": "agentic_image_gen.core.limits",
    "SharedLimiter": "agentic_image_gen.engine.limits",
    "ImageGenerator": "agentic_image_gen.providers.base",
    "Evaluator": "agentic_image_gen.providers.base",
    "Prompter": "agentic_image_gen.providers.base",
    "RegionEditor": "agentic_image_gen.providers.base",
    "RegionEditRequest": "agentic_image_gen.core.types",
    "GenerationRequest": "agentic_image_gen.core.types",
    "GeneratedImage": "agentic_image_gen.core.types",
    "EvaluationRequest": "agentic_image_gen.core.types",
    "Evaluation": "agentic_image_gen.core.types",
    "Iteration": "agentic_image_gen.core.types",
    "ReferenceImage": "agentic_image_gen.core.types",
    "LockedScene": "agentic_image_gen.core.types",
    "OutputFormat": "agentic_image_gen.core.types",
    "AigError": "agentic_image_gen.core.errors",
    "RunFailed": "agentic_image_gen.core.errors",
    "RunInterrupted": "agentic_image_gen.core.errors",
}
__all__ = [  # noqa: RUF022 (grouped as _EXPORTS is)
    "__version__",
    "Session",
    "run_sync",
    "RESUMABLE",
    "RunConfig",
    "ProviderNames",
    "ImageSettings",
    "RunResult",
    "RunOutput",
    "RunSummary",
    "Event",
    "RunStarted",
    "StageStarted",
    "ImageSaved",
    "ImageScored",
    "ReviewRequested",
    "RunFinished",
    "Snapshot",
    "Reviewer",
    "ReviewRequest",
    "ReviewDecision",
    "ReviewRecord",
    "Candidate",
    "PendingReviews",
    "Limiter",
    "SharedLimiter",
    "ImageGenerator",
    "Evaluator",
    "Prompter",
    "RegionEditor",
    "RegionEditRequest",
    "GenerationRequest",
    "GeneratedImage",
    "EvaluationRequest",
    "Evaluation",
    "Iteration",
    "ReferenceImage",
    "LockedScene",
    "OutputFormat",
    "AigError",
    "RunFailed",
    "RunInterrupted",
]

if TYPE_CHECKING:
    from agentic_image_gen.core.config import ProviderNames, RunConfig
    from agentic_image_gen.core.errors import AigError, RunFailed, RunInterrupted
    from agentic_image_gen.core.events import (
        Event,
        ImageSaved,
        ImageScored,
        ReviewRequested,
        RunFinished,
        RunStarted,
        Snapshot,
        StageStarted,
    )
    from agentic_image_gen.core.limits import Limiter
    from agentic_image_gen.core.output import RunOutput, RunSummary
    from agentic_image_gen.core.result import RunResult
    from agentic_image_gen.core.review import (
        Candidate,
        ReviewDecision,
        Reviewer,
        ReviewRecord,
        ReviewRequest,
    )
    from agentic_image_gen.core.types import (
        Evaluation,
        EvaluationRequest,
        GeneratedImage,
        GenerationRequest,
        ImageSettings,
        Iteration,
        LockedScene,
        OutputFormat,
        ReferenceImage,
        RegionEditRequest,
    )
    from agentic_image_gen.engine.limits import SharedLimiter
    from agentic_image_gen.engine.review import PendingReviews
    from agentic_image_gen.engine.session import RESUMABLE, Session, run_sync
    from agentic_image_gen.providers.base import (
        Evaluator,
        ImageGenerator,
        Prompter,
        RegionEditor,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentic_image_gen' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
