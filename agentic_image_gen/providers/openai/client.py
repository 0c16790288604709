"""One AsyncOpenAI client per run, called through the run's retry policy, with SDK errors
translated into ours (one line, key redacted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai

from agentic_image_gen.errors import AigError, ConfigurationError, ProviderError
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.retry import TRANSIENT_STATUSES, Attempt, RetryPolicy, retry_after_seconds

T = TypeVar("T")
_API_KEY = "openai.api"
# Image generation regularly takes a minute or more; one attempt may take this long.
ATTEMPT_TIMEOUT_SECONDS = 300.0


class OpenAIApi:
    """The run's client and retry policy. ``await api(action, lambda client: ...)``."""

    def __init__(self, client: openai.AsyncOpenAI, policy: RetryPolicy) -> None:
        self.client = client
        self.policy = policy

    async def __call__(
        self, action: str, request: Callable[[openai.AsyncOpenAI], Awaitable[T]]
    ) -> T:
        async def attempt(remaining: float) -> T:
            timeout = min(ATTEMPT_TIMEOUT_SECONDS, remaining)
            return await request(self.client.with_options(timeout=timeout))

        retries_before = self.policy.retries_used
        try:
            return await self.policy.call(attempt, _classify)
        except openai.OpenAIError as exc:
            retried = self.policy.retries_used - retries_before
            raise _translated(exc, action, retried, self.client.api_key) from exc


async def shared_api(context: ProviderContext) -> OpenAIApi:
    """The run's API handle, created on first use and closed with the run."""
    api = context.shared.get(_API_KEY)
    if isinstance(api, OpenAIApi):
        return api
    config = context.config
    if config.api_key is None:
        raise ConfigurationError("OPENAI_API_KEY is not set: export it to use the OpenAI providers")
    client = openai.AsyncOpenAI(
        api_key=config.api_key.get_secret_value(),
        base_url=config.base_url,
        timeout=ATTEMPT_TIMEOUT_SECONDS,
        max_retries=0,  # the run's RetryPolicy retries, with a budget
    )
    context.exit_stack.push_async_callback(client.close)
    api = OpenAIApi(client, context.retry_policy)
    context.shared[_API_KEY] = api
    return api


def _classify(error: Exception) -> Attempt | None:
    if isinstance(error, openai.APIStatusError):
        return Attempt(
            transient=error.status_code in TRANSIENT_STATUSES or error.status_code >= 500,
            retry_after=retry_after_seconds(error.response.headers),
        )
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return Attempt(transient=True)
    return None


def _describe(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict) and isinstance(nested.get("message"), str):
            return str(nested["message"])
    return error.message


def _translated(error: openai.OpenAIError, action: str, retried: int, secret: str) -> AigError:
    after = f" (after {retried} retries)" if retried else ""
    if isinstance(error, openai.AuthenticationError):
        kind: type[AigError] = ConfigurationError
        text = f"OpenAI rejected the API key while {action}: {_describe(error)}"
    elif isinstance(error, openai.APIStatusError):
        kind = ProviderError
        text = f"OpenAI answered HTTP {error.status_code} while {action}{after}: {_describe(error)}"
    elif isinstance(error, openai.APITimeoutError):
        kind, text = ProviderError, f"OpenAI timed out while {action}{after}"
    elif isinstance(error, openai.APIConnectionError):
        kind, text = ProviderError, f"cannot reach the OpenAI API while {action}{after}: {error}"
    else:
        kind, text = ProviderError, f"OpenAI failed while {action}: {error}"
    text = " ".join(text.split())
    return kind(text.replace(secret, "[redacted]") if secret else text)
