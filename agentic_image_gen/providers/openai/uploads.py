"""Images sent to OpenAI once per run and then named by ``file_id``.

Reference photos go with every round-1 candidate, every retry, the checklist derivation and
every identity check; sent inline each time, a 20 MiB reference became a 28-million-character
data URL per request. Uploaded once through the Files API (``purpose: "vision"``), every request
names the file instead. Uploads are deleted when the run ends unless ``keep_files`` is set,
and expire by themselves a day after they are made (``expires_after``), so a crash, or an
upload retried after its reply was lost (the first copy is then unknown to us), leaves
nothing behind for ever. Kept files (``keep_files``) do not expire.

An OpenAI-compatible server without a Files API (404 or 405 on ``/v1/files``) gets data URLs,
re-encoded when needed so each stays under the API's image_url limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
from typing import Any

import openai

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.inputs.imaging import data_url
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.plugin import OpenAIOptions

# The spec's maxLength of an input_image's image_url, in characters.
MAX_IMAGE_URL_CHARS = 20_971_520
DELETE_TIMEOUT_SECONDS = 5.0
# How long an upload lives if the run cannot delete it (the API takes 1 hour to 30 days): far
# longer than a run, whose own files are deleted when it ends; a resumed run uploads anew.
UPLOAD_LIFETIME_SECONDS = 24 * 3600
_KEY = "openai.uploads"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class ImageUploads:
    """One run's uploaded images: ``await uploads.part(data, mime)`` is an ``input_image``
    part naming the file, uploaded on first use only (concurrent callers share the upload)."""

    def __init__(self, api: OpenAIApi, keep_files: bool) -> None:
        self._api = api
        self._keep_files = keep_files
        self._files: dict[str, asyncio.Task[str | None]] = {}
        self._files_api: bool | None = None  # unknown until the first upload answers
        self.uploaded: list[str] = []

    async def part(self, data: bytes, mime_type: str, detail: str = "high") -> dict[str, Any]:
        key = hashlib.sha256(data).hexdigest()
        if key not in self._files:
            self._files[key] = asyncio.ensure_future(self._upload(data, mime_type, key))
        file_id = await asyncio.shield(self._files[key])
        if file_id is None:  # no Files API on this server
            url = await asyncio.to_thread(fitting_data_url, data, mime_type)
            return {"type": "input_image", "image_url": url, "detail": detail}
        return {"type": "input_image", "file_id": file_id, "detail": detail}

    async def _upload(self, data: bytes, mime_type: str, key: str) -> str | None:
        if self._files_api is False:
            return None
        name = f"aig-{key[:16]}.{_EXTENSIONS.get(mime_type, 'png')}"
        expiry: dict[str, Any] = (
            {}
            if self._keep_files
            else {"expires_after": {"anchor": "created_at", "seconds": UPLOAD_LIFETIME_SECONDS}}
        )
        try:
            uploaded = await self._api(
                "uploading a reference image",
                lambda client: client.files.create(
                    file=(name, data, mime_type), purpose="vision", **expiry
                ),
            )
        except AigError as error:
            cause = error.__cause__
            if isinstance(cause, openai.APIStatusError) and cause.status_code in (404, 405):
                self._files_api = False
                return None
            raise
        self._files_api = True
        self.uploaded.append(uploaded.id)
        return uploaded.id

    async def close(self) -> None:
        """Delete what this run uploaded (best effort, one quick try each), unless kept."""
        for task in self._files.values():
            if not task.done():
                task.cancel()
        if self._keep_files or not self.uploaded:
            return
        client = self._api.client.with_options(timeout=DELETE_TIMEOUT_SECONDS, max_retries=0)

        async def delete(file_id: str) -> None:
            with contextlib.suppress(openai.OpenAIError):
                async with self._api.slot():
                    await client.files.delete(file_id)

        await asyncio.gather(*(delete(file_id) for file_id in self.uploaded))


async def run_uploads(context: ProviderContext) -> ImageUploads:
    """The run's uploads (one per run, shared by every OpenAI component), deleted at its end."""
    uploads = context.run_cache.get(_KEY)
    if isinstance(uploads, ImageUploads):
        return uploads
    options = context.options_as(OpenAIOptions)
    uploads = ImageUploads(await shared_api(context), options.keep_files)
    context.run_cache[_KEY] = uploads
    context.exit_stack.push_async_callback(uploads.close)
    return uploads


def fitting_data_url(data: bytes, mime_type: str, limit: int = MAX_IMAGE_URL_CHARS) -> str:
    """A data URL of the image within ``limit`` characters: as it is when it fits, else as an
    8-bit PNG (a 16-bit photo halves), else scaled down by quarters until it fits."""
    url = data_url(data, mime_type)
    if len(url) <= limit:
        return url
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        if opened.mode.startswith("I"):  # 16-bit grey: keep the high byte, not a clipped white
            opened.load()
            image = opened.point(lambda value: value / 256).convert("L")
        else:
            image = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    while True:
        out = io.BytesIO()
        image.save(out, "PNG", optimize=False, compress_level=6)
        url = data_url(out.getvalue(), "image/png")
        if len(url) <= limit:
            return url
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))
