"""One AsyncOpenAI client per run, and the translation of SDK errors into ours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from agentic_image_gen.errors import ConfigurationError, ProviderError
from agentic_image_gen.providers.base import ProviderContext

_CLIENT_KEY = "openai.client"
# Image generation regularly takes a minute or more; text calls are far quicker but share
# the client, so the timeout is generous and the SDK's own retry (with backoff and
# Retry-After) handles transient faults.
REQUEST_TIMEOUT_SECONDS = 300.0
MAX_RETRIES = 2


async def shared_client(context: ProviderContext) -> openai.AsyncOpenAI:
    """The run's client, created on first use and closed with the run."""
    client = context.shared.get(_CLIENT_KEY)
    if isinstance(client, openai.AsyncOpenAI):
        return client
    config = context.config
    if config.api_key is None:
        raise ConfigurationError("OPENAI_API_KEY is not set: export it to use the OpenAI providers")
    client = openai.AsyncOpenAI(
        api_key=config.api_key.get_secret_value(),
        base_url=config.base_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
    )
    context.shared[_CLIENT_KEY] = client
    context.exit_stack.push_async_callback(client.close)
    return client


def _describe(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict) and isinstance(nested.get("message"), str):
            return str(nested["message"])
    return error.message


@contextmanager
def translated_errors(action: str, secret: str | None = None) -> Iterator[None]:
    """Turn SDK exceptions into one-line ProviderError/ConfigurationError, key redacted."""

    def clean(text: str) -> str:
        text = " ".join(text.split())
        return text.replace(secret, "[redacted]") if secret else text

    try:
        yield
    except openai.AuthenticationError as exc:
        raise ConfigurationError(
            clean(f"OpenAI rejected the API key while {action}: {_describe(exc)}")
        ) from exc
    except openai.APIStatusError as exc:
        raise ProviderError(
            clean(f"OpenAI answered HTTP {exc.status_code} while {action}: {_describe(exc)}")
        ) from exc
    except openai.APITimeoutError as exc:
        raise ProviderError(f"OpenAI timed out while {action}") from exc
    except openai.APIConnectionError as exc:
        raise ProviderError(clean(f"cannot reach the OpenAI API while {action}: {exc}")) from exc
    except openai.OpenAIError as exc:
        raise ProviderError(clean(f"OpenAI failed while {action}: {exc}")) from exc
