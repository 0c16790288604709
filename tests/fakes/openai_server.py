"""A loopback fake of the OpenAI HTTP API (``/v1/responses``, ``/v1/conversations``) for tests.

``POST /v1/responses`` is routed by body (see :func:`classify`), like the project's three roles:

* an ``image_generation`` tool -> *generation*: a real Pillow image in an
  ``image_generation_call`` item (size, format and background as requested);
* ``text.format.type == "json_schema"`` -> *evaluation*: ``{"score": S, "feedback": ...}`` text;
* anything else -> *refinement*: ``"Refined prompt #N: <last input text>"`` text.

With a validator, every request and reply is checked against the OpenAPI spec; a request that fails
is answered 400 (OpenAI-shaped error) and recorded in ``violations``, so a fixture can fail the test
even if the code under test swallowed the error.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .checklist_payloads import (
    DEFAULT_CHECKLIST,
    judgement_for_score,
    schema_name,
)
from .faults import FaultHit, FaultScript
from .openai_payloads import (
    FakeAPIError,
    classify,
    draw_image,
    image_call,
    last_input_text,
    message,
    new_id,
    output_text,
    refusal,
    response_object,
)
from .openapi_validator import OpenAPIValidator, SpecViolation

EvaluatorReply = int | str
GENERATION_OUTCOMES = ("image", "refusal", "text_only")
_ENDPOINTS = {  # path -> (request schema, response schema) in the spec's components/schemas
    "/v1/responses": ("CreateResponse", "Response"),
    "/v1/conversations": ("CreateConversationBody", "ConversationResource"),
}


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, or None
    kind: str  # classify(): "generation" | "evaluation" | "refinement" | "conversation" | "other"
    client_port: int  # the same port for requests over one keep-alive connection
    status: int = 0  # HTTP status the fake answered with
    response: Any = None  # JSON body the fake answered with


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    server: _Server
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # a client that gave up (timeout, drop)
            super().handle()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """``with FakeOpenAIServer(validator) as server: AsyncOpenAI(base_url=server.base_url)``."""

    def __init__(self, validator: OpenAPIValidator | None = None) -> None:
        self.validator = validator if validator is not None and validator.available else None
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.conversation_ids: set[str] = set()
        self.response_ids: set[str] = set()
        self.rejected_keys: set[str] = set()
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
        self._httpd: _Server | None = None
        self.faults = FaultScript()

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        serve = self._httpd.serve_forever
        threading.Thread(target=serve, args=(0.05,), name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # ---- scripting and inspection ---------------------------------------------------------------

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

    def script_faults(self, faults: list[dict[str, Any]]) -> None:
        """Queue failures (429, 5xx, slow, dropped, malformed, refused); see fakes/faults.py."""
        self.faults.script(faults)

    @property
    def fault_hits(self) -> list[FaultHit]:
        return list(self.faults.hits)

    def reject_key(self, key: str) -> None:
        """Answer 401 to requests made with ``key``."""
        with self._lock:
            self.rejected_keys.add(key)

    def take_violations(self) -> list[str]:
        """Return and clear the recorded violations (for tests that provoke them on purpose)."""
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.path == path]

    def generation_requests(self) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.kind == "generation"]

    def evaluation_requests(self) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.kind == "evaluation"]

    def refinement_requests(self) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.kind == "refinement"]

    # ---- HTTP -----------------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=handler.command,
            path=path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            kind=classify(handler.command, path, body),
            client_port=handler.client_address[1],
        )
        with self._lock:
            self.requests.append(record)
        fault = self.faults.take(path, record.kind)
        if fault is not None:
            self._check_quietly(record)  # a fault never hides a request the API would reject
            if fault.intercept(handler, record):
                return
        try:
            if raw and body is None:
                raise FakeAPIError(400, "We could not parse the JSON body of your request.")
            status, reply = 200, self._route(record)
            if fault is not None and (refused := fault.alter(reply, record.kind)) is not None:
                reply = refused
                self._check(record, "validate_response", "Response", reply, status=500)
        except FakeAPIError as error:
            status, reply = error.status, error.body()
        record.status, record.response = status, reply
        payload = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("x-request-id", new_id("req"))
        handler.end_headers()
        handler.wfile.write(payload)

    def _check_quietly(self, record: RecordedRequest) -> None:
        if record.path in _ENDPOINTS and isinstance(record.body, dict):
            schema = _ENDPOINTS[record.path][0]
            with contextlib.suppress(FakeAPIError):
                self._check(record, "validate_request", schema, record.body, status=400)

    def _route(self, record: RecordedRequest) -> dict[str, Any]:
        auth = record.headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and auth[len("Bearer ") :].strip()):
            raise FakeAPIError(401, "You didn't provide an API key.", code="invalid_api_key")
        if auth[len("Bearer ") :].strip() in self.rejected_keys:
            # The message echoes the whole key, worse than the real API, to test redaction.
            raise FakeAPIError(
                401, f"Incorrect API key provided: {auth[7:].strip()}.", code="invalid_api_key"
            )
        if record.method != "POST" or record.path not in _ENDPOINTS:
            raise FakeAPIError(404, f"Invalid URL ({record.method} {record.path})")
        request_schema, response_schema = _ENDPOINTS[record.path]
        body = {} if record.body is None else record.body
        self._check(record, "validate_request", request_schema, body, status=400)
        if record.path == "/v1/conversations":
            reply = self._create_conversation(body)
        else:
            reply = self._create_response(body)
        self._check(record, "validate_response", response_schema, reply, status=500)
        return reply

    def _check(
        self, record: RecordedRequest, method: str, schema: str, body: Any, status: int
    ) -> None:
        """Validate; on failure record a violation and answer ``status`` (500: the fake's bug)."""
        if self.validator is None:
            return
        try:
            getattr(self.validator, method)(schema, body)
        except SpecViolation as violation:
            message = str(violation) if status == 400 else f"the fake's own reply: {violation}"
            with self._lock:
                self.violations.append(f"{record.method} {record.path}: {message}")
            raise FakeAPIError(status, message) from None

    # ---- endpoints ------------------------------------------------------------------------------

    def _create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        conversation_id = new_id("conv")
        with self._lock:
            self.conversation_ids.add(conversation_id)
        return {
            "id": conversation_id,
            "object": "conversation",
            "created_at": int(time.time()),
            "metadata": body.get("metadata") or {},
        }

    def _create_response(self, body: dict[str, Any]) -> dict[str, Any]:
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
        kind = classify("POST", "/v1/responses", body)
        if kind == "generation":
            output = self._generate(body)
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
        with self._lock:
            self.response_ids.add(reply["id"])
        return reply

    def _next(self, kind: str) -> int:
        with self._lock:
            self._counters[kind] += 1
            return self._counters[kind]

    def _generate(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        number = self._next("generation")
        with self._lock:
            outcome = self._generation_script.pop(0) if self._generation_script else "image"
        if outcome == "refusal":
            return [message(refusal("I'm sorry, but I can't help with that request."))]
        if outcome == "text_only":
            return [message(output_text("Here is a description of the image instead."))]
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
        return [image_call(draw_image(number, tool.get("size", "auto"), output_format, background))]

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
