"""Fault injection for the fake OpenAI server: scripted failures, each used by one request.

``server.script_faults([...])`` queues faults; each is consumed by the next request it matches
(``path``, default ``/v1/responses``, ``"*"`` for any; optional ``kind``: generation, evaluation,
refinement...). A fault may combine ``delay`` with one outcome:

* ``{"status": 429, "retry_after": 1}``: an OpenAI-shaped error (``message``/``code`` override
  the defaults; ``retry_after_ms`` and ``headers`` add headers);
* ``{"delay": 2.0}``: a slow reply (then the normal answer);
* ``{"drop": True}``: the connection is closed without an answer;
* ``{"lost": True}``: the request is served (a file is stored, a response made), then the
  connection is closed before the reply: the client cannot know it succeeded;
* ``{"malformed": True}``: a 200 whose body is not JSON;
* ``{"refusal": True}``: a moderation refusal: for a generation, a ``failed`` Response with a
  ``failed`` image_generation_call and an ``image_content_policy_violation`` error; otherwise a
  refusal message;
* ``{"failed": "server_error"}``: a 200 whose Response has ``status: failed`` with that code;
* ``{"incomplete": "max_output_tokens"}``: a 200 whose Response stopped early (``status:
  incomplete``, that reason (``content_filter`` too), the text cut off, a generation's image
  missing).

Every consumed fault is recorded in ``hits``, so tests can count what was injected.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from .openai_payloads import message, new_id, output_text, refusal

FAULT_KEYS = frozenset(
    {"status", "retry_after", "retry_after_ms", "message", "code", "headers", "delay", "drop"}
    | {"malformed", "refusal", "path", "kind", "failed", "incomplete", "lost"}
)
MALFORMED_BODY = b'{"id": "resp_cut_short", "object": "response", "output": [{"type": "mess'
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
POLICY_MESSAGE = "Your request was rejected as a result of our safety system."
_DEFAULT_ERRORS = {  # status -> (type, code, message), as the real API words them
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to make this request."),
    404: ("invalid_request_error", None, "Not found."),
    408: ("timeout", None, "Request timed out."),
    409: ("invalid_request_error", None, "The request conflicts with another request."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}


@dataclass
class FaultHit:
    path: str
    kind: str
    fault: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    spec: dict[str, Any]

    def intercept(self, handler: BaseHTTPRequestHandler, record: Any) -> bool:
        """Wait ``delay``; answer in place of the fake (True) or let it answer (False)."""
        time.sleep(float(self.spec.get("delay", 0)))
        if self.spec.get("drop"):
            handler.close_connection = True  # nothing is written: the client sees a hang-up
            return True
        if "status" in self.spec:
            record.status, record.response = self.spec["status"], self.error_body()
            _send(handler, record.status, json.dumps(record.response).encode(), self.headers())
            return True
        if self.spec.get("malformed"):
            record.status, record.response = 200, MALFORMED_BODY.decode()
            _send(handler, 200, MALFORMED_BODY, {})
            return True
        return False

    def alter(self, reply: dict[str, Any], kind: str) -> dict[str, Any] | None:
        """The refused, failed or cut-off version of a Response the fake built, or None."""
        if reply.get("object") != "response":
            return None
        if code := self.spec.get("failed"):
            error = {"code": code, "message": f"The response failed ({code})."}
            return {**reply, "status": "failed", "completed_at": None, "error": error,
                    "output": []}
        if reason := self.spec.get("incomplete"):
            # A text reply is cut mid-way; an image call stopped early leaves no image.
            cut = [] if kind == "generation" else [message(output_text('{"score": 7'))]
            return {**reply, "status": "incomplete", "completed_at": None,
                    "incomplete_details": {"reason": reason}, "output": cut}
        if not self.spec.get("refusal"):
            return None
        if kind != "generation":
            return {**reply, "output": [message(refusal(REFUSAL_TEXT))]}
        failed_call = {
            "type": "image_generation_call",
            "id": new_id("ig"),
            "status": "failed",
            "result": None,
        }
        error = {"code": "image_content_policy_violation", "message": POLICY_MESSAGE}
        failed = {"status": "failed", "completed_at": None, "error": error, "output": [failed_call]}
        return {**reply, **failed}

    def error_body(self) -> dict[str, Any]:
        status = int(self.spec["status"])
        kind = "server_error" if status >= 500 else "invalid_request_error"
        error_type, code, text = _DEFAULT_ERRORS.get(status, (kind, None, f"HTTP {status}."))
        text, code = self.spec.get("message", text), self.spec.get("code", code)
        return {"error": {"message": text, "type": error_type, "param": None, "code": code}}

    def headers(self) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in self.spec.get("headers", {}).items()}
        if "retry_after" in self.spec:
            headers["Retry-After"] = str(self.spec["retry_after"])
        if "retry_after_ms" in self.spec:
            headers["retry-after-ms"] = str(self.spec["retry_after_ms"])
        return headers


class FaultScript:
    """The queue of scripted faults and the record of those used (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self.hits: list[FaultHit] = []

    def script(self, faults: list[dict[str, Any]]) -> None:
        for fault in faults:
            if unknown := set(fault) - FAULT_KEYS:
                raise ValueError(f"unknown fault keys: {sorted(unknown)}")
            status = fault.get("status")
            if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
                raise ValueError(f"fault status must be an HTTP error code, not {status!r}")
        with self._lock:
            self._pending = [dict(fault) for fault in faults]

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(fault) for fault in self._pending]

    def take(self, path: str, kind: str) -> Fault | None:
        """Remove and return the first pending fault that matches this request, if any."""
        with self._lock:
            for index, fault in enumerate(self._pending):
                if fault.get("path", "/v1/responses") not in (path, "*"):
                    continue
                if fault.get("kind", kind) != kind:
                    continue
                del self._pending[index]
                self.hits.append(FaultHit(path, kind, dict(fault)))
                return Fault(fault)
        return None


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("x-request-id", new_id("req"))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
