"""One AsyncOpenAI client per run, called through the run's retry policy, with SDK errors
translated into ours (one line, key redacted)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import openai

from agentic_image_gen.core.errors import AigError, ConfigurationError, ProviderError
from agentic_image_gen.core.retry import (
    TRANSIENT_STATUSES,
    Attempt,
    RetryPolicy,
    retry_after_seconds,
)
from agentic_image_gen.core.usage import CallRecord, UsageLedger
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.plugin import OpenAIOptions, api_key

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_API_KEY = "openai.api"
# Image generation regularly takes a minute or more; one attempt may take this long.
ATTEMPT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ImagePrice:
    """What an image call made, so the ledger can price it."""

    model: str
    quality: str
    size: str


class OpenAIApi:
    """The run's client, retry policy and ledger. ``await api(action, lambda client: ...)``."""

    def __init__(self, client: openai.AsyncOpenAI, policy: RetryPolicy, ledger: UsageLedger):
        self.client = client
        self.policy = policy
        self.ledger = ledger

    async def __call__(
        self,
        action: str,
        request: Callable[[openai.AsyncOpenAI], Awaitable[T]],
        image: ImagePrice | None = None,
    ) -> T:
        async def attempt(remaining: float) -> T:
            if remaining >= ATTEMPT_TIMEOUT_SECONDS:  # the client's own timeout; no copy
                return await request(self.client)
            return await request(self.client.with_options(timeout=remaining))

        retries_before = self.policy.retries_used
        started = time.monotonic()
        try:
            result = await self.policy.call(attempt, _classify)
        except json.JSONDecodeError as exc:
            raise ProviderError(f"OpenAI sent an unreadable reply while {action}") from exc
        except openai.OpenAIError as exc:
            retried = self.policy.retries_used - retries_before
            raise _translated(exc, action, retried, self.client.api_key) from exc
        self._record(action, result, time.monotonic() - started, image)
        return result

    def _record(
        self, action: str, result: object, seconds: float, image: ImagePrice | None
    ) -> None:
        model = str(getattr(result, "model", "") or "")
        usage = getattr(result, "usage", None)
        input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
        prices = self.ledger.prices
        cost, priced = 0.0, True
        if input_tokens or output_tokens:
            token_cost = prices.token_cost(model, input_tokens, output_tokens)
            cost, priced = token_cost or 0.0, token_cost is not None
        images = sum(
            1
            for item in getattr(result, "output", None) or []
            if getattr(item, "type", "") == "image_generation_call" and getattr(item, "result", "")
        )
        if image is not None and images:
            image_cost = prices.image_cost(image.model, image.quality, image.size)
            cost += (image_cost or 0.0) * images
            priced = priced and image_cost is not None
        self.ledger.record(
            CallRecord(
                action=action,
                model=model,
                seconds=round(seconds, 3),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                images=images,
                cost_usd=round(cost, 6),
                priced=priced,
            )
        )


async def shared_api(context: ProviderContext) -> OpenAIApi:
    """The run's API handle: the session's client (one per endpoint and key, so connections
    are reused across runs) with this run's retry budget and ledger."""
    api = context.run_cache.get(_API_KEY)
    if isinstance(api, OpenAIApi):
        return api
    options = context.options_as(OpenAIOptions)
    key = api_key(options, context.env)
    if key is None:
        raise ConfigurationError(
            f"{options.api_key_env} is not set: export it to use the OpenAI providers"
        )
    base_url = options.base_url or DEFAULT_BASE_URL

    async def make() -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            timeout=ATTEMPT_TIMEOUT_SECONDS,
            max_retries=0,  # the run's RetryPolicy retries, with a budget
        )

    async def close(client: openai.AsyncOpenAI) -> None:
        await client.close()

    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    client = await context.resources.shared(("openai", base_url, fingerprint), make, close)
    api = OpenAIApi(client, context.retry_policy, context.ledger)
    context.run_cache[_API_KEY] = api
    return api


def _classify(error: Exception) -> Attempt | None:
    if isinstance(error, openai.APIStatusError):
        return Attempt(
            transient=error.status_code in TRANSIENT_STATUSES or error.status_code >= 500,
            retry_after=retry_after_seconds(error.response.headers),
        )
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return Attempt(transient=True)
    if isinstance(error, json.JSONDecodeError):  # a garbled 200 (proxy, cut-off body)
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
