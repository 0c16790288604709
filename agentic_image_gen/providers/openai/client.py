"""One AsyncOpenAI client per session, called through the run's retry policy, with each call
priced into the run's ledger and its failures translated into ours (one line, key redacted)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai
from openai.types.responses import Response

from agentic_image_gen.core.errors import BudgetExhausted, ConfigurationError
from agentic_image_gen.core.retry import RetryPolicy
from agentic_image_gen.core.usage import PriceTable, UsageLedger
from agentic_image_gen.inputs.tls import trust_store
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.costs import ImagePrice, record_of
from agentic_image_gen.providers.openai.failures import ResponseFailed, classify, translated
from agentic_image_gen.providers.openai.plugin import OpenAIOptions, api_key

__all__ = ["ImagePrice", "OpenAIApi", "shared_api"]

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_API_KEY = "openai.api"
# Image generation regularly takes a minute or more; one attempt may take this long.
ATTEMPT_TIMEOUT_SECONDS = 300.0


class OpenAIApi:
    """The run's client, retry policy and ledger. ``await api(action, lambda client: ...)``.

    ``stage`` (generation, evaluation, refinement) names the step in a content refusal."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        policy: RetryPolicy,
        ledger: UsageLedger,
        provider: str = "openai",
    ):
        self.client = client
        self.policy = policy
        self.ledger = ledger
        self.provider = provider  # whose rate limit a shared limiter applies

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """A call made once, outside ``__call__`` (a clean-up), still waits its turn."""
        return self.policy.slot(self.provider)

    async def __call__(
        self,
        action: str,
        request: Callable[[openai.AsyncOpenAI], Awaitable[T]],
        image: ImagePrice | None = None,
        stage: str = "",
    ) -> T:
        async def attempt(remaining: float) -> T:
            if remaining >= ATTEMPT_TIMEOUT_SECONDS:  # the client's own timeout; no copy
                result = await request(self.client)
            else:
                result = await request(self.client.with_options(timeout=remaining))
            if isinstance(result, Response) and result.status == "failed":
                # What a failed response used is billed too, its image tool's tokens
                # included; then a transient code is retried like a 5xx.
                prices = self.ledger.prices
                self.ledger.record(record_of(f"{action} (failed)", result, 0.0, image, prices))
                raise ResponseFailed(result)
            return result

        retries_before = self.policy.retries_used
        started = time.monotonic()
        try:
            result = await self.policy.call(attempt, classify, self.provider)
        except (openai.OpenAIError, ResponseFailed, json.JSONDecodeError) as exc:
            retried = self.policy.retries_used - retries_before
            raise translated(exc, action, stage, retried, self.client.api_key) from exc
        seconds = time.monotonic() - started
        self.ledger.record(record_of(action, result, seconds, image, self.ledger.prices))
        return result


def check_budget_prices(options: OpenAIOptions, prices: PriceTable, max_cost: float | None) -> None:
    """Under ``--max-cost`` every model must have a price: an unpriced one would count as free
    and switch the budget off. Refused before any call, naming the model and the remedy."""
    if max_cost is None:
        return
    missing = [
        name
        for name in dict.fromkeys(
            (options.model, options.evaluator_model, options.prompter_model)
        )
        if prices.token_price(name) is None
    ]
    image_model = options.image_model
    estimate = prices.image_cost(image_model, "auto", "auto")
    if prices.token_price(image_model) is None or estimate is None:
        missing.append(image_model)
    if missing:
        raise BudgetExhausted(
            f"--max-cost {max_cost:g} USD cannot be kept: no price for {', '.join(missing)} "
            "(add it with --prices FILE, or run without --max-cost)"
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
    check_budget_prices(options, context.ledger.prices, context.max_cost)
    base_url = options.base_url or DEFAULT_BASE_URL

    async def make() -> openai.AsyncOpenAI:
        # In a thread the first time: the run's references load meanwhile (engine/opening.py).
        trust = await asyncio.to_thread(trust_store)
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            timeout=ATTEMPT_TIMEOUT_SECONDS,
            max_retries=0,  # the run's RetryPolicy retries, with a budget
            http_client=openai.DefaultAsyncHttpxClient(verify=trust),
        )

    async def close(client: openai.AsyncOpenAI) -> None:
        await client.close()

    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    client = await context.resources.shared(("openai", base_url, fingerprint), make, close)
    api = OpenAIApi(client, context.retry_policy, context.ledger, context.provider or "openai")
    context.run_cache[_API_KEY] = api
    return api
