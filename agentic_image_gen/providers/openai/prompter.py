"""Prompt refinement with the Responses API, in one Conversation per run, or stateless.

The Assistants API the specification used is shut down; a Conversation keeps the same thread
of refinements server-side, and its id is reported as ``thread_id``. The loop has it started
while round 1 runs (``prepare``); if no refinement follows, it is deleted when the run closes.

An account that stores nothing (``store=False``, or found out when the API refuses the
Conversation or a stored response) gets the same thread sent in every request instead: each
earlier refinement request with the prompt it produced, rebuilt from the run's history (so a
resumed run has it too), with ``store: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Sequence
from types import TracebackType

import openai
from openai.types.responses import EasyInputMessageParam

from agentic_image_gen.core.config import MAX_PROMPT_CHARS
from agentic_image_gen.core.errors import AigError, ProviderError, RunInterrupted
from agentic_image_gen.core.types import Iteration
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.continuation import (
    Continuation,
    run_continuation,
    stored_state_gone,
)
from agentic_image_gen.providers.openai.failures import reply_text
from agentic_image_gen.providers.openai.instructions import (
    PROMPTER_INSTRUCTIONS,
    refinement_request_text,
)
from agentic_image_gen.providers.openai.plugin import OpenAIOptions

DELETE_TIMEOUT_SECONDS = 5.0
_INTERRUPTS = (RunInterrupted, KeyboardInterrupt, asyncio.CancelledError)
_LABEL = re.compile(r"^(?:(?:new|improved|refined)\s+)?prompt\s*:\s*", re.IGNORECASE)


class OpenAIPrompter:
    def __init__(
        self,
        api: OpenAIApi,
        model: str,
        conversation_id: str | None = None,
        continuation: Continuation | None = None,
    ) -> None:
        self._api = api
        self._model = model
        self._conversation_id = conversation_id
        self._started_unused = False  # a conversation this prompter made, with no refinement yet
        self._continuation = continuation if continuation is not None else Continuation(False)

    @classmethod
    async def create(cls, context: ProviderContext) -> OpenAIPrompter:
        model = context.options_as(OpenAIOptions).prompter_model
        continuation = run_continuation(context)
        prompter = cls(await shared_api(context), model, context.conversation_id, continuation)
        context.exit_stack.push_async_exit(prompter._close)
        return prompter

    @property
    def conversation_id(self) -> str | None:
        return self._conversation_id

    async def prepare(self) -> None:
        """Start the conversation (the loop calls this while round 1 runs); an account that
        refuses it stores nothing, so the run goes on stateless."""
        if self._conversation_id is None and not self._continuation.stateless:
            try:
                conversation = await self._api(
                    "starting the prompter's conversation",
                    lambda client: client.conversations.create(
                        metadata={"app": "agentic-image-gen"}
                    ),
                    stage="refinement",
                )
            except AigError as error:
                if not stored_state_gone(error):
                    raise
                self._continuation.stateless = True
                return
            self._conversation_id = conversation.id
            self._started_unused = True

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        latest = history[-1]
        if latest.evaluation is None:
            raise ProviderError("cannot refine a prompt before its image was evaluated")
        await self.prepare()
        request_text = _request_text(original_prompt, latest)
        text = ""
        if not self._continuation.stateless:
            try:
                text = await self._refine_stored(request_text)
            except AigError as error:
                if not stored_state_gone(error):
                    raise
                self._continuation.stateless = True
        if self._continuation.stateless:
            text = await self._refine_stateless(original_prompt, history, request_text)
        prompt = clean_prompt(text)
        if not prompt:
            raise ProviderError("the prompter returned an empty prompt")
        return prompt[:MAX_PROMPT_CHARS]

    async def _refine_stored(self, request_text: str) -> str:
        conversation_id = self._conversation_id
        response = await self._api(
            "refining the prompt",
            lambda client: client.responses.create(
                model=self._model,
                instructions=PROMPTER_INSTRUCTIONS,
                conversation=conversation_id,
                input=request_text,
            ),
            stage="refinement",
        )
        self._started_unused = False
        return reply_text(response, "refining the prompt", "refinement")

    async def _refine_stateless(
        self, original_prompt: str, history: Sequence[Iteration], request_text: str
    ) -> str:
        """The thread in the request: each earlier request with the prompt it produced."""
        items: list[EasyInputMessageParam] = []
        for earlier, produced in itertools.pairwise(history):
            if earlier.evaluation is not None:
                items.append({"role": "user", "content": _request_text(original_prompt, earlier)})
                items.append({"role": "assistant", "content": produced.prompt})
        items.append({"role": "user", "content": request_text})
        response = await self._api(
            "refining the prompt",
            lambda client: client.responses.create(
                model=self._model,
                instructions=PROMPTER_INSTRUCTIONS,
                input=list(items),
                store=False,
            ),
            stage="refinement",
        )
        return reply_text(response, "refining the prompt", "refinement")

    async def _close(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """Delete a conversation started ahead of a refinement that never came, so runs that
        end in round 1 leave nothing behind. Best effort, one quick try, and never after an
        interrupt, which must stay quick."""
        interrupted = error_type is not None and issubclass(error_type, _INTERRUPTS)
        if self._started_unused and self._conversation_id and not interrupted:
            client = self._api.client.with_options(timeout=DELETE_TIMEOUT_SECONDS, max_retries=0)
            with contextlib.suppress(openai.OpenAIError):
                async with self._api.slot():
                    await client.conversations.delete(self._conversation_id)
        return False


def _request_text(original_prompt: str, iteration: Iteration) -> str:
    evaluation = iteration.evaluation
    if evaluation is None:
        raise ProviderError("cannot refine a prompt before its image was evaluated")
    failed = [
        item.model_dump()
        for item in evaluation.requirements or []
        if not item.passed and not item.blocked_by
    ]
    return refinement_request_text(
        original_prompt, iteration.prompt, evaluation.score, evaluation.feedback, failed
    )


def clean_prompt(text: str) -> str:
    """Strip what models add around a prompt despite being told not to."""
    text = text.strip()
    text = re.sub(r"^```[a-z]*\s*|\s*```$", "", text).strip()
    text = _LABEL.sub("", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text
