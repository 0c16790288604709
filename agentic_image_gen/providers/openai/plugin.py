"""The OpenAI provider as the registry sees it: its components, options and readiness.

Nothing here imports the SDK: components are named by ``"module:Class"`` and imported only
when a run chooses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentic_image_gen.providers.base import Component, ProviderSpec
from agentic_image_gen.providers.openai.prices import PRICES

# Defaults chosen from the models the openai SDK (3.5x) lists as current, none with an announced
# shutdown: gpt-5.5 drives generation and judges images (vision, Structured Outputs), the cheaper
# gpt-5.4-mini rewrites prompts, and gpt-image-2.5-sunburst is the image model OpenAI names as the
# replacement for the shut-down gpt-image-1 (transparent backgrounds and custom sizes supported).
DEFAULT_MODEL = "gpt-5.5"
DEFAULT_IMAGE_MODEL = "gpt-image-2.5-sunburst"
DEFAULT_EVALUATOR_MODEL = "gpt-5.5"
DEFAULT_PROMPTER_MODEL = "gpt-5.4-mini"


class OpenAIOptions(BaseModel):
    """Model names and where the API is. The key itself is never an option: it is read from
    the variable ``api_key_env`` names, when the run starts, and stored nowhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = DEFAULT_MODEL
    image_model: str = DEFAULT_IMAGE_MODEL
    evaluator_model: str = DEFAULT_EVALUATOR_MODEL
    prompter_model: str = DEFAULT_PROMPTER_MODEL
    api_key_env: str = "OPENAI_API_KEY"
    # False: an account that stores nothing (zero data retention). Every request says
    # ``store: false``; rounds continue by sending the best image back, never by
    # previous_response_id, and the prompter keeps its history in the request, not in a
    # Conversation. A stored run switches by itself when the API says a response is gone.
    store: bool = True
    # Keep the reference images uploaded to the Files API after the run (default: deleted).
    keep_files: bool = False
    # How closely the image follows the reference photos; only some image models take it
    # (capabilities.py refuses the others). None: not sent, the model's default.
    input_fidelity: Literal["high", "low"] | None = None
    # Any server that speaks the OpenAI wire format. Read anew from the environment by every
    # process (a resumed run uses today's endpoint), so it is not stored with the run.
    base_url: str | None = Field(default=None, exclude=True)

    @field_validator("model", "image_model", "evaluator_model", "prompter_model", "api_key_env")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


def api_key(options: OpenAIOptions, env: Mapping[str, str]) -> str | None:
    key = env.get(options.api_key_env, "").strip()
    return key or None


def _missing(options: BaseModel, env: Mapping[str, str]) -> str | None:
    assert isinstance(options, OpenAIOptions)
    if api_key(options, env) is None:
        return f"{options.api_key_env} is not set: export it to use the OpenAI providers"
    return None


_PACKAGE = "agentic_image_gen.providers.openai"
PROVIDER = ProviderSpec(
    name="openai",
    summary="OpenAI Responses API: image generation, vision judging, prompt refinement",
    components=(
        Component("generator", "openai", f"{_PACKAGE}.image_gen:OpenAIImageGenerator",
                  "the image_generation tool; later turns continue the previous response, "
                  "or edit the best image sent back (--no-store)"),
        Component("evaluator", "checklist", f"{_PACKAGE}.checklist:ChecklistEvaluator",
                  "a per-run checklist judged per requirement (default)"),
        Component("evaluator", "rubric", f"{_PACKAGE}.evaluator:OpenAIEvaluator",
                  "one score and one critique paragraph"),
        Component("prompter", "openai", f"{_PACKAGE}.prompter:OpenAIPrompter",
                  "rewrites in a Conversation kept for the run (or its history in the request)"),
    ),
    defaults={"generator": "openai", "evaluator": "checklist", "prompter": "openai"},
    options=OpenAIOptions,
    env={
        "model": "AIG_MODEL",
        "image_model": "AIG_IMAGE_MODEL",
        "evaluator_model": "AIG_EVALUATOR_MODEL",
        "prompter_model": "AIG_PROMPTER_MODEL",
        "base_url": "OPENAI_BASE_URL",
        "store": "AIG_OPENAI_STORE",
        "keep_files": "AIG_OPENAI_KEEP_FILES",
    },
    needs=("OPENAI_API_KEY (or the variable named by the api_key_env option)",),
    check=_missing,
    prices=PRICES,
    auto_rank=100,
)
