"""How one run carries a round into the next, shared by the generator and the prompter.

"stored": the API keeps each response (``previous_response_id``) and the prompter's
Conversation. "stateless": nothing is kept on OpenAI's side (``store: false`` everywhere); the
generator sends the round's best image back for an edit and the prompter sends its history in
the request. A run starts stateless with ``store=False`` (``--no-store``), and switches by
itself when the API says a stored response is not available (a zero-data-retention account).
The generator's tokens say which mode made them (``stateless:`` prefix), so a resume keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.plugin import OpenAIOptions

STATELESS_PREFIX = "stateless:"
_KEY = "openai.continuation"


@dataclass
class Continuation:
    stateless: bool

    @property
    def mode(self) -> str:
        return "stateless" if self.stateless else "stored"


def run_continuation(context: ProviderContext) -> Continuation:
    """The run's one Continuation (made on first use from the ``store`` option)."""
    found = context.run_cache.get(_KEY)
    if isinstance(found, Continuation):
        return found
    continuation = Continuation(stateless=not context.options_as(OpenAIOptions).store)
    context.run_cache[_KEY] = continuation
    return continuation


def stored_state_gone(error: AigError) -> bool:
    """The API cannot continue from stored state here: a previous response "not found" (never
    stored, or an account that stores nothing), a file its input named deleted since
    (``image_file_not_found``), or Conversations refused for such an account."""
    cause = error.__cause__
    if not isinstance(cause, openai.BadRequestError):
        return False
    code = str(getattr(cause, "code", "") or "")
    text = str(cause.message).lower()
    return (
        code in ("previous_response_not_found", "image_file_not_found", "unsupported_for_zdr")
        or ("previous response" in text and "not found" in text)
        or "zero data retention" in text
    )
