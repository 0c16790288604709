"""What the fake OpenAI API answers: scripted scores, checklists, comparisons and images.

Kept apart from the HTTP server (openai_server.py) so each stays one job. ``latency`` (seconds
per request kind) and ``textured_images`` (photo-like noise, so image sizes are realistic) serve
the benchmark.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from .checklist_payloads import DEFAULT_CHECKLIST, judgement_for_score, schema_name
from .openai_payloads import (
    FakeAPIError,
    classify,
    draw_image,
    image_call,
    image_tool_usage,
    input_images,
    last_input_text,
    message,
    moderation_call,
    new_id,
    output_text,
    refusal,
    response_object,
)

EvaluatorReply = int | str
GENERATION_OUTCOMES = ("image", "refusal", "text_only", "moderation")
# The spec's limit on an image_url (a data URL included), in characters.
MAX_IMAGE_URL_CHARS = 20_971_520
MODERATION_CATEGORIES = ["violence", "weapons"]


class ScriptedAPI:
    """The fake's answers; FakeOpenAIServer serves them over HTTP."""

    def __init__(self, latency: dict[str, float] | None = None, textured_images: bool = False):
        self.conversation_ids: set[str] = set()
        self.deleted_conversations: list[str] = []
        self.response_ids: set[str] = set()  # stored responses (store not false, not zdr)
        self.rejected_keys: set[str] = set()
        # Models this account does not have: a request naming one (as its model or its image
        # tool's) is answered 404 ``model_not_found``, as the API answers an unknown model.
        self.missing_models: set[str] = set()
        # A zero-data-retention account: nothing is stored whatever ``store`` says, so
        # previous_response_id is "not found" and Conversations are refused.
        self.zdr = False
        # Uploaded files (POST /v1/files): id -> bytes; False answers 404 as a server without it.
        self.files_api = True
        self.files: dict[str, bytes] = {}
        self.uploads: list[tuple[str, bytes]] = []  # (file id, content) per upload, in order
        self.expiries: dict[str, int | None] = {}  # file id -> expires_at (None: never)
        # The files each stored response's context names (its own input and its previous
        # responses'): continuing one whose file was deleted is ``image_file_not_found``.
        self.response_files: dict[str, frozenset[str]] = {}
        self.deleted_files: list[str] = []
        self._lock = threading.Lock()
        self._counters = {
            "generation": 0,
            "evaluation": 0,
            "refinement": 0,
            "checklist": 0,
            "comparison": 0,
        }
        self._checklist: list[dict[str, Any]] = DEFAULT_CHECKLIST
        self._judgements: list[dict[str, Any]] = []
        self._comparisons: list[str] = []
        self._evaluator_replies: list[EvaluatorReply] = []
        self._generation_script: list[str] = []
        # Image input tokens the image tool reports as cached (``cached_tokens`` only, which
        # the SDK allows without ``cached_tokens_details``).
        self.cached_image_tokens = 0
        # The size the fake's model chooses when asked for "auto".
        self.auto_size = "1024x1024"
        self.latency = dict(latency or {})
        self.textured_images = textured_images

    def script_scores(self, scores: list[int]) -> None:
        """The evaluator returns these scores in order, then repeats the last (default: 50)."""
        self.script_evaluator_replies(list(scores))

    def script_evaluator_replies(self, replies: list[EvaluatorReply]) -> None:
        """Like script_scores, but a ``str`` item is returned verbatim as the output_text."""
        with self._lock:
            self._evaluator_replies, self._counters["evaluation"] = list(replies), 0

    def script_checklist(self, requirements: list[dict[str, Any]]) -> None:
        """What the checklist derivation returns (default: ten unit-weight ring questions)."""
        with self._lock:
            self._checklist = list(requirements)

    def script_judgements(self, judgements: list[dict[str, Any]]) -> None:
        """Checklist judgements returned verbatim, in order, before falling back to scores."""
        with self._lock:
            self._judgements = list(judgements)

    def script_comparisons(self, winners: list[str]) -> None:
        """Winners ("A" or "B") of the next pairwise comparisons; then "A"."""
        with self._lock:
            self._comparisons = list(winners)

    def script_generation(self, outcomes: list[str]) -> None:
        """Outcomes of the next generations: "image" | "refusal" | "text_only"; then "image"."""
        if unknown := set(outcomes) - set(GENERATION_OUTCOMES):
            raise ValueError(f"unknown generation outcomes: {sorted(unknown)}")
        with self._lock:
            self._generation_script = list(outcomes)

    def _upload_file(
        self, filename: str, data: bytes, purpose: str, lifetime: int | None = None
    ) -> dict[str, Any]:
        """Store a file; ``lifetime``: its ``expires_after.seconds``, if the upload set one."""
        if not self.files_api:
            raise FakeAPIError(404, "Invalid URL (POST /v1/files)")
        file_id = new_id("file")
        created = int(time.time())
        expires = None if lifetime is None else created + lifetime
        with self._lock:
            self.files[file_id] = data
            self.uploads.append((file_id, data))
            self.expiries[file_id] = expires
        reply = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": created,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        return reply if expires is None else {**reply, "expires_at": expires}

    def _delete_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            if self.files.pop(file_id, None) is None:
                raise FakeAPIError(404, f"No such File object: {file_id}")
            self.deleted_files.append(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def _check_images(self, body: dict[str, Any]) -> None:
        """Every file id must exist; every image URL must fit the spec's limit."""
        for part in input_images(body):
            file_id, url = part.get("file_id"), part.get("image_url")
            if file_id is not None and file_id not in self.files:
                raise FakeAPIError(400, f"File {file_id!r} not found.", param="input")
            if isinstance(url, str) and len(url) > MAX_IMAGE_URL_CHARS:
                raise FakeAPIError(
                    400,
                    f"Invalid 'input[0].content.image_url': string too long. Expected a string "
                    f"with maximum length {MAX_IMAGE_URL_CHARS}, but got a string with length "
                    f"{len(url)} instead.",
                    param="input",
                    code="string_above_max_length",
                )

    def _create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.zdr:
            raise FakeAPIError(
                400,
                "Conversations are not available to organizations with zero data retention.",
                code="unsupported_for_zdr",
            )
        conversation_id = new_id("conv")
        with self._lock:
            self.conversation_ids.add(conversation_id)
        return {
            "id": conversation_id,
            "object": "conversation",
            "created_at": int(time.time()),
            "metadata": body.get("metadata") or {},
        }

    def _delete_conversation(self, conversation_id: str) -> dict[str, Any]:
        with self._lock:
            if conversation_id not in self.conversation_ids:
                raise FakeAPIError(404, f"Conversation with id '{conversation_id}' not found.")
            self.conversation_ids.discard(conversation_id)
            self.deleted_conversations.append(conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    def _check_models(self, body: dict[str, Any]) -> None:
        tools = body.get("tools") if isinstance(body.get("tools"), list) else []
        tool_models = (tool.get("model") for tool in tools if isinstance(tool, dict))
        for model in [body.get("model"), *tool_models]:
            if model in self.missing_models:
                raise FakeAPIError(
                    404,
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                )

    def _create_response(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_models(body)
        previous = body.get("previous_response_id")
        conversation = body.get("conversation")
        conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        if previous is not None and conversation_id is not None:
            raise FakeAPIError(
                400,
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                param="conversation",
            )
        with self._lock:
            if previous is not None and previous not in self.response_ids:
                raise FakeAPIError(
                    400,
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            if conversation_id is not None and conversation_id not in self.conversation_ids:
                raise FakeAPIError(
                    400,
                    f"Conversation with id '{conversation_id}' not found.",
                    param="conversation",
                )
            context_files = self.response_files.get(previous, frozenset()) if previous else set()
            if gone := sorted(context_files - set(self.files)):
                raise FakeAPIError(
                    400,
                    f"Image file '{gone[0]}' could not be found.",
                    param="previous_response_id",
                    code="image_file_not_found",
                )
        self._check_images(body)
        named = {str(part["file_id"]) for part in input_images(body) if part.get("file_id")}
        kind = classify("POST", "/v1/responses", body)
        usage = None
        if kind == "generation":
            output, usage = self._generate(body)
        elif kind == "evaluation":
            output = self._evaluate(body)
        elif kind == "checklist":
            self._next("checklist")
            output = [message(output_text(json.dumps({"requirements": self._checklist})))]
        elif kind == "comparison":
            self._next("comparison")
            with self._lock:
                winner = self._comparisons.pop(0) if self._comparisons else "A"
            reason = f"Fake comparison: {winner} is closer to the request."
            output = [message(output_text(json.dumps({"winner": winner, "reason": reason})))]
        else:
            number = self._next("refinement")
            output = [
                message(output_text(f"Refined prompt #{number}: {last_input_text(body)[:300]}"))
            ]
        reply = response_object(body, output, conversation_id)
        if usage is not None:
            reply["tool_usage"] = usage
        if output and output[-1].get("status") == "failed":  # a moderation block
            text = output[-1]["error"]["message"]
            error = {"code": "image_content_policy_violation", "message": text}
            reply.update(status="failed", completed_at=None, error=error)
        if body.get("store") is not False and not self.zdr:
            with self._lock:
                self.response_ids.add(reply["id"])
                self.response_files[reply["id"]] = frozenset(context_files | named)
        return reply

    def _next(self, kind: str) -> int:
        with self._lock:
            self._counters[kind] += 1
            return self._counters[kind]

    def _generate(
        self, body: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        number = self._next("generation")
        with self._lock:
            outcome = self._generation_script.pop(0) if self._generation_script else "image"
        if outcome == "refusal":
            return [message(refusal("I'm sorry, but I can't help with that request."))], None
        if outcome == "text_only":
            return [message(output_text("Here is a description of the image instead."))], None
        if outcome == "moderation":
            return [moderation_call(MODERATION_CATEGORIES)], None
        index, tool = next(
            (i, t) for i, t in enumerate(body["tools"]) if t.get("type") == "image_generation"
        )
        output_format, background = tool.get("output_format", "png"), tool.get("background", "auto")
        if background == "transparent" and output_format == "jpeg":
            raise FakeAPIError(
                400,
                "Transparent background is not supported with output_format 'jpeg'.",
                param=f"tools[{index}].background",
            )
        action = tool.get("action", "auto")
        if action == "edit" and not input_images(body) and body.get("previous_response_id") is None:
            raise FakeAPIError(400, "action 'edit' needs an input image.", param="tools")
        size, textured = tool.get("size", "auto"), self.textured_images
        size = self.auto_size if size == "auto" else size
        image = draw_image(number, size, output_format, background, textured=textured)
        revised = f"Revised: {last_input_text(body)[:200]}"
        call = image_call(image, revised, "edit" if action == "edit" else "generate")
        usage = image_tool_usage(body, tool, 1)
        if self.cached_image_tokens:
            usage["image_gen"]["cached_tokens"] = self.cached_image_tokens
        return [call], usage

    def _evaluate(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        checklist = schema_name(body) == "checklist_evaluation"
        with self._lock:
            if checklist and self._judgements:
                scripted = self._judgements.pop(0)
                return [message(output_text(json.dumps(scripted)))]
        number = self._next("evaluation")
        with self._lock:
            replies = self._evaluator_replies
            reply: EvaluatorReply = replies[min(number, len(replies)) - 1] if replies else 50
        if isinstance(reply, str):
            return [message(output_text(reply))]
        if checklist:
            judgement = judgement_for_score(self._checklist, reply)
            return [message(output_text(json.dumps(judgement)))]
        feedback = f"Fake evaluation #{number}: score {reply}."
        return [message(output_text(json.dumps({"score": reply, "feedback": feedback})))]
