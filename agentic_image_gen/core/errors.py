"""The project's error hierarchy: every failure a user can meet, each with its own exit code.

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``; nothing else
needs to know how errors are presented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentic_image_gen.core.result import RunResult


class AigError(Exception):
    """Base of every error the tool reports to a user (never a traceback)."""

    exit_code = 1


class InputError(AigError):
    """A flag, the prompt or another argument is invalid."""

    exit_code = 2


class ReferenceImageError(InputError):
    """A reference image is missing, unreadable, not an image, too large, or its URL is bad."""

    exit_code = 3


class UnusableReference(ReferenceImageError):
    """A reference decodes but shows nothing the run can use as the product (all
    transparent, all backdrop, a product too small or too faint to cut out, or one that
    cannot be cut out alone from what it is worn on or lies against): the photo must change,
    as for an unreadable one, so the same exit code, and no run folder is made."""

    exit_code = 3


class ConfigurationError(AigError):
    """The environment is not set up for the chosen provider (e.g. no API key)."""

    exit_code = 4


class ProviderError(AigError):
    """A provider failed, refused, or answered with something unusable."""

    exit_code = 5


class StorageError(AigError):
    """The run folder cannot be written."""

    exit_code = 6


class RunFolderBusy(AigError):
    """Another process is writing this run folder (it holds the folder's lock): two writers
    would interleave their journals, so the second is refused at once, before any work."""

    exit_code = 7


class RunFailed(AigError):
    """A run stopped on an error after some work was done; carries what was finished."""

    def __init__(self, cause: AigError, partial: RunResult) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.partial = partial
        self.exit_code = cause.exit_code


EXIT_INTERRUPTED = 130


class RunInterrupted(RunFailed):
    """The run was cancelled (Ctrl-C); the journal says so and the partial result is kept."""

    def __init__(self, partial: RunResult) -> None:
        super().__init__(AigError("interrupted"), partial)
        self.exit_code = EXIT_INTERRUPTED


# ---- added for the provider failure taxonomy (issue 15): append-only --------------------------


class PermissionDenied(ConfigurationError):
    """The account may not do this (HTTP 403: a model not enabled, an unverified organisation,
    a region): fixed in the account's settings, like a rejected key, so the same exit code."""

    exit_code = 4


class ProviderUnavailable(ProviderError):
    """The provider kept failing with transient errors (5xx, 429, timeouts, ``status:
    failed`` with a server error) until the retries or the call's deadline ran out: try again
    later; nothing about the input needs to change."""

    exit_code = 5


class ContentRefused(ProviderError):
    """The provider's content policy blocked the request or the model refused it. ``stage``
    says which step (generation, evaluation, refinement) and ``categories`` what the
    moderation flagged, so a user knows what to change in the prompt or the references."""

    exit_code = 8

    def __init__(self, message: str, stage: str = "", categories: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.stage = stage
        self.categories = categories


class BudgetExhausted(AigError):
    """``--max-cost`` cannot pay for what the run needs: a first round above the budget, or
    a model without a price (which would count as free and switch the budget off)."""

    exit_code = 9


class IncompleteReply(ProviderError):
    """A reply stopped before it was whole (``status: incomplete``: output token limit,
    content filter); named apart from a malformed reply so the cause is not hidden."""

    exit_code = 5


class NotCompliant(AigError):
    """The run finished and its marketplace file was delivered, but a measurable rule of the
    profile still fails on it (the message names each): the file is kept, and the exit code
    says it is not ready to upload as it is."""

    exit_code = 11
