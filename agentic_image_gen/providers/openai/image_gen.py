"""Image generation through the Responses API's ``image_generation`` tool.

Turn 1 sends the prompt and every reference as an ``input_image`` naming its uploaded file
(uploads.py: each reference goes to the Files API once per run). Later turns continue the
previous round's best image in one of two ways (continuation.py): stored, the refined prompt
with ``previous_response_id`` (the response already holds the references); or stateless, for
accounts that store nothing, the refined prompt with the references and that image sent back
by file, the tool told to ``edit`` it, and ``store: false``. A locked product
(``--lock-product``) never continues a stored context: each turn sends its base image first
(the mask applies to the first image), then the references.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import mimetypes
from dataclasses import replace
from pathlib import Path
from typing import Any

from openai.types.responses import Response
from PIL import Image

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import (
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    OutputFormat,
    RegionEditRequest,
)
from agentic_image_gen.inputs.imaging import NotAnImage, decode_image
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.capabilities import check_image_request
from agentic_image_gen.providers.openai.client import ImagePrice, OpenAIApi, shared_api
from agentic_image_gen.providers.openai.continuation import (
    STATELESS_PREFIX,
    Continuation,
    run_continuation,
    stored_state_gone,
)
from agentic_image_gen.providers.openai.failures import (
    call_block,
    filtered,
    incomplete_reason,
    refused,
)
from agentic_image_gen.providers.openai.plugin import OpenAIOptions
from agentic_image_gen.providers.openai.uploads import ImageUploads, run_uploads


class OpenAIImageGenerator:
    def __init__(
        self,
        api: OpenAIApi,
        uploads: ImageUploads,
        options: OpenAIOptions,
        continuation: Continuation,
    ) -> None:
        self._api = api
        self._uploads = uploads
        self._model = options.model
        self._image_model = options.image_model
        self._input_fidelity = options.input_fidelity
        self._keep_files = options.keep_files
        self._continuation = continuation
        self._made: set[str] = set()  # stored responses of this run, whose files still exist

    @classmethod
    async def create(cls, context: ProviderContext) -> OpenAIImageGenerator:
        options = context.options_as(OpenAIOptions)
        check_image_request(options.image_model, context.config.image, options.input_fidelity)
        api = await shared_api(context)
        return cls(api, await run_uploads(context), options, run_continuation(context))

    @property
    def paints_around_locked_products(self) -> bool:
        """With ``--lock-product`` the model paints the scene; the engine puts the product's
        own pixels back over whatever it drew there."""
        return True

    @property
    def continuation(self) -> str:
        """ "stored" or "stateless": how rounds are carried on (the run's JSON says it)."""
        return self._continuation.mode

    def image_cost(self, settings: ImageSettings) -> float | None:
        prices = self._api.ledger.prices
        return prices.image_cost(self._image_model, settings.quality.value, settings.size)

    def _tool(
        self, settings: ImageSettings, edit: bool, mask: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        tool: dict[str, Any] = {
            "type": "image_generation",
            "model": self._image_model,
            "quality": settings.quality.value,
            "size": settings.size,
            "background": settings.background.value,
            "output_format": settings.output_format.value,
        }
        if edit:
            tool["action"] = "edit"
        if mask is not None:
            tool["input_image_mask"] = mask
        if self._input_fidelity is not None:
            tool["input_fidelity"] = self._input_fidelity
        return tool

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        if request.locked is not None:
            return await self._locked(request)
        token = request.context
        if token is not None and token.startswith(STATELESS_PREFIX):
            self._continuation.stateless = True  # a resumed stateless run stays stateless
        stored = not self._continuation.stateless
        if token is not None and stored and self._files_kept(token, request):
            try:
                return await self._call(request, [], previous_response_id=token, stateless=False)
            except ProviderError as error:
                if not stored_state_gone(error):
                    raise
                self._continuation.stateless = True  # and this round goes on without it
        # Otherwise a later turn edits the previous round's best image (sent first, so it is
        # the one the edit starts from), with the references beside it for the product's
        # identity; all by file id, uploaded once. Stored, later rounds continue from it.
        parts = [await self._previous_image(request)] if token is not None else []
        parts += [await self._uploads.part(r.data, r.mime_type) for r in request.references]
        stateless = self._continuation.stateless
        return await self._call(
            request, parts, previous_response_id=None, stateless=stateless, edit=token is not None
        )

    def _files_kept(self, token: str, request: GenerationRequest) -> bool:
        """Whether the stored response ``token`` can be continued: the files its input names
        must still exist. A run deletes its uploads when it ends, so a response of an earlier
        run (a resume) with references is not continued (unless the files were kept): its
        round starts a new chain instead, sending the best image and the references again."""
        return token in self._made or self._keep_files or not request.references

    async def _locked(self, request: GenerationRequest) -> GeneratedImage:
        """A locked product: every turn edits an image in which the product is in place (the
        canvas, then the previous round's best, composited), with a mask that protects it;
        the references ride along for the product's identity, the scene is what changes.

        Never from a stored context: the mask applies to the first image of the input, which
        with ``previous_response_id`` is the round-1 canvas of that context, not this base
        (and the context's references would be billed again beside these)."""
        scene = request.locked
        assert scene is not None
        # The mask and the canvas have one size; the image must have it too (with "auto" the
        # model may choose 1536x1024, which the composite would stretch over the canvas).
        size = "{}x{}".format(*_size_of(scene.canvas))
        request = replace(request, settings=request.settings.model_copy(update={"size": size}))
        if request.context is not None and request.previous_image is not None:
            base = await self._previous_image(request)
        else:
            base = await self._uploads.part(scene.canvas, "image/png")
        mask_part = await self._uploads.part(scene.mask, "image/png")
        mask = {k: v for k, v in mask_part.items() if k in ("file_id", "image_url")}
        parts = [base, *[await self._uploads.part(r.data, r.mime_type) for r in request.references]]
        stateless = self._continuation.stateless
        return await self._call(request, parts, None, stateless, edit=True, mask=mask)

    async def edit_region(self, request: RegionEditRequest) -> GeneratedImage:
        """A person's region edit: the image first (the mask applies to the first image of
        the input), sent with ``input_image_mask``, the references beside it for the
        product's identity; at the image's own size, never from a stored context."""
        size = "{}x{}".format(*_size_of(request.image))
        settings = request.settings.model_copy(update={"size": size})
        image = await self._uploads.part(request.image, request.mime_type)
        mask_part = await self._uploads.part(request.mask, "image/png")
        mask = {k: v for k, v in mask_part.items() if k in ("file_id", "image_url")}
        references = [await self._uploads.part(r.data, r.mime_type) for r in request.references]
        parts = [image, *references]
        turn = GenerationRequest(prompt=request.prompt, settings=settings)
        stateless = self._continuation.stateless
        return await self._call(turn, parts, None, stateless, edit=True, mask=mask)

    async def _previous_image(self, request: GenerationRequest) -> dict[str, Any]:
        if request.previous_image is None:
            raise ProviderError(
                "cannot continue statelessly: the previous round's image was not given"
            )
        path = Path(request.previous_image)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ProviderError(f"cannot read back {path} to continue from it: {exc}") from exc
        mime_type = mimetypes.guess_type(path.name)[0] or "image/png"
        return await self._uploads.part(data, mime_type)

    async def _call(
        self,
        request: GenerationRequest,
        images: list[dict[str, Any]],
        previous_response_id: str | None,
        stateless: bool,
        edit: bool = False,
        mask: dict[str, Any] | None = None,
    ) -> GeneratedImage:
        """One generation call; ``stateless`` is decided by the caller, once, so a switch made
        meanwhile by another candidate (or the prompter) never mixes the two modes in it."""
        content: list[dict[str, Any]] = [{"type": "input_text", "text": request.prompt}, *images]
        arguments: dict[str, Any] = {
            "model": self._model,
            "input": [{"role": "user", "content": content}],
            "tools": [self._tool(request.settings, edit, mask)],
            "tool_choice": {"type": "image_generation"},
        }
        if previous_response_id is not None:
            arguments["previous_response_id"] = previous_response_id
        if stateless:
            arguments["store"] = False
        settings = request.settings
        response = await self._api(
            "generating an image",
            lambda client: client.responses.create(**arguments),
            ImagePrice(self._image_model, settings.quality.value, settings.size),
            stage="generation",
        )
        image = await asyncio.to_thread(_decoded, response, request.settings.output_format)
        if stateless:
            return replace(image, context=STATELESS_PREFIX + response.id)
        self._made.add(response.id)
        return image


def _size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:  # the header only
        return image.size


def _decoded(response: Response, expected: OutputFormat) -> GeneratedImage:
    """The image of the response, checked to be a whole image of the asked format."""
    calls = [item for item in response.output if item.type == "image_generation_call"]
    results = [call for call in calls if call.result]
    if not results:
        if (block := call_block(response)) is not None:
            text, categories, _moderated = block
            raise refused("generation", text, "moderation_blocked", categories)
        for item in response.output:
            if item.type == "message":
                for part in item.content:
                    if part.type == "refusal":
                        raise refused("generation", f"the model refused: {part.refusal}")
        if incomplete_reason(response) == "content_filter":
            raise filtered("generation", "generating an image")
        raise ProviderError(f"OpenAI returned no image (response {response.id}): {_why(response)}")
    call = results[-1]
    try:
        data = base64.b64decode(call.result or "", validate=True)
        decoded = decode_image(data)
    except (binascii.Error, NotAnImage) as exc:
        raise ProviderError(f"OpenAI returned a broken image (response {response.id})") from exc
    info = decoded.info
    if info.format != expected.pil_format:
        raise ProviderError(
            f"OpenAI returned a {info.format or 'unknown'} image, "
            f"not the {expected.value} that was asked for"
        )
    return GeneratedImage(
        data=data,
        output_format=expected,
        width=info.width,
        height=info.height,
        context=response.id,
        revised_prompt=call.revised_prompt,
        pixels=decoded.pixels,
    )


def _why(response: Response) -> str:
    """Explain a response without an image: a refusal, a failed call, or plain text."""
    for item in response.output:
        if item.type == "image_generation_call" and item.error is not None:
            return f"the image call failed: {item.error.message}"
        if item.type == "message":
            for part in item.content:
                if part.type == "refusal":
                    return f"the model refused: {part.refusal}"
                if part.type == "output_text" and part.text.strip():
                    return f"the model answered with text only: {part.text.strip()[:300]}"
    if response.error is not None:
        return response.error.message
    if response.incomplete_details is not None:
        return f"the response is incomplete ({response.incomplete_details.reason})"
    return f"the response status is {response.status}"
