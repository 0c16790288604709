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
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .behaviour import ScriptedAPI
from .faults import FaultHit, FaultScript
from .openai_payloads import (
    FakeAPIError,
    classify,
    new_id,
)
from .openapi_validator import OpenAPIValidator, SpecViolation

EvaluatorReply = int | str
GENERATION_OUTCOMES = ("image", "refusal", "text_only")
_ENDPOINTS = {  # path -> (request schema, response schema) in the spec's components/schemas
    "/v1/responses": ("CreateResponse", "Response"),
    "/v1/conversations": ("CreateConversationBody", "ConversationResource"),
}
_CONVERSATION = "/v1/conversations/"  # DELETE /v1/conversations/{conversation_id}
_FILES = "/v1/files"  # POST (multipart upload), DELETE /v1/files/{file_id}
_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


def multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    parsed = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


def nested(fields: dict[str, Any]) -> dict[str, Any]:
    """Form fields as the SDK flattens objects (``expires_after[seconds]``), nested again."""
    result: dict[str, Any] = {}
    for name, value in fields.items():
        outer, bracket, inner = name.partition("[")
        if bracket and inner.endswith("]"):
            result.setdefault(outer, {})[inner[:-1]] = value
        else:
            result[name] = value
    return result


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
    seconds: float = 0.0  # the fake's own time on it, request line to reply sent (latency included)
    started: float = 0.0  # time.perf_counter() when its request line arrived
    upload: tuple[str | None, bytes] | None = None  # a multipart file: (filename, bytes)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body
    server: _Server
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds

    def parse_request(self) -> bool:
        # The request line has arrived: the fake's time on this request starts here.
        self.received = time.perf_counter()
        return super().parse_request()

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


class FakeOpenAIServer(ScriptedAPI):
    """``with FakeOpenAIServer(validator) as server: AsyncOpenAI(base_url=server.base_url)``."""

    def __init__(
        self,
        validator: OpenAPIValidator | None = None,
        latency: dict[str, float] | None = None,
        textured_images: bool = False,
    ) -> None:
        super().__init__(latency, textured_images)
        self.validator = validator if validator is not None and validator.available else None
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
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
        started = handler.received
        content_type = handler.headers.get("Content-Type", "")
        multipart = content_type.startswith("multipart/form-data")
        upload: tuple[str | None, bytes] | None = None
        try:
            body: Any = json.loads(raw) if raw and not multipart else None
        except ValueError:
            body = None
        if multipart:  # a file upload: recorded without its bytes, which are kept apart
            fields = multipart_fields(content_type, raw)
            body = nested({name: value.decode() if filename is None else {"filename": filename,
                          "bytes": len(value)} for name, (filename, value) in fields.items()})
            upload = fields.get("file", (None, b""))
        record = RecordedRequest(
            method=handler.command,
            path=path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            kind=classify(handler.command, path, body),
            client_port=handler.client_address[1],
            upload=upload,
        )
        with self._lock:
            self.requests.append(record)
        fault = self.faults.take(path, record.kind)
        if fault is not None:
            self._check_quietly(record)  # a fault never hides a request the API would reject
            if fault.intercept(handler, record):
                return
        time.sleep(self.latency.get(record.kind, 0.0))
        try:
            if raw and body is None and not multipart:
                raise FakeAPIError(400, "We could not parse the JSON body of your request.")
            status, reply = 200, self._route(record)
            if fault is not None and (refused := fault.alter(reply, record.kind)) is not None:
                reply = refused
                self._check(record, "validate_response", "Response", reply, status=500)
        except FakeAPIError as error:
            status, reply = error.status, error.body()
        record.status, record.response = status, reply
        if fault is not None and fault.spec.get("lost"):  # done, but the reply never arrives
            handler.close_connection = True
            return
        payload = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("x-request-id", new_id("req"))
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()
        record.started, record.seconds = started, time.perf_counter() - started

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
        if record.path == _FILES and record.method == "POST":
            return self._route_upload(record)
        if record.method == "DELETE" and record.path.startswith(_FILES + "/"):
            reply = self._delete_file(record.path.removeprefix(_FILES + "/"))
            self._check(record, "validate_response", "DeleteFileResponse", reply, 500)
            return reply
        if record.method == "DELETE" and record.path.startswith(_CONVERSATION):
            reply = self._delete_conversation(record.path.removeprefix(_CONVERSATION))
            self._check(record, "validate_response", "DeletedConversationResource", reply, 500)
            return reply
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

    def _route_upload(self, record: RecordedRequest) -> dict[str, Any]:
        """POST /v1/files: the multipart fields the spec's CreateFileRequest allows."""
        body = record.body if isinstance(record.body, dict) else {}
        filename, data = record.upload or (None, b"")
        if unknown := set(body) - {"file", "purpose", "expires_after"}:
            self._violation(record, f"CreateFileRequest: unknown fields {sorted(unknown)}")
        if body.get("purpose") not in _PURPOSES or not data:
            self._violation(record, f"CreateFileRequest: purpose {body.get('purpose')!r}, "
                            f"file of {len(data)} bytes")
        lifetime = None
        if (expires := body.get("expires_after")) is not None:
            seconds = expires.get("seconds") if isinstance(expires, dict) else None
            if isinstance(seconds, str) and seconds.isdigit():  # a form field is text
                expires = {**expires, "seconds": int(seconds)}
            self._check(record, "validate_request", "FileExpirationAfter", expires, 400)
            lifetime = int(expires["seconds"])
        reply = self._upload_file(filename or "upload", data, str(body["purpose"]), lifetime)
        self._check(record, "validate_response", "OpenAIFile", reply, 500)
        return reply

    def _violation(self, record: RecordedRequest, message: str) -> None:
        with self._lock:
            self.violations.append(f"{record.method} {record.path}: {message}")
        raise FakeAPIError(400, message)

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
