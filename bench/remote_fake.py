"""The fake OpenAI server in its own process, as a real API would be: its work (drawing
images, JSON) then never competes with the client for this process's CPU and GIL."""

from __future__ import annotations

import base64
import multiprocessing
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


@dataclass(frozen=True)
class Seen:
    """What the bench needs of one request the fake answered."""

    kind: str
    seconds: float
    ended: float  # perf_counter when the reply was sent (one clock for the whole machine)
    body_bytes: int
    image_bytes: list[int]  # decoded bytes of each input_image sent inline, in order
    continued: bool  # carried previous_response_id
    file_images: int = 0  # input_images that name an uploaded file instead
    upload_bytes: int = 0  # the file's bytes, for an upload (POST /v1/files)


def _summary(record: Any) -> Seen:
    body = record.body if isinstance(record.body, dict) else {}
    parts = [
        part
        for message in body.get("input", [])
        if isinstance(message, dict)
        for part in (message.get("content") or [])
        if isinstance(part, dict)
        if part.get("type") == "input_image"
    ]
    inline = [p["image_url"] for p in parts if isinstance(p.get("image_url"), str)]
    sizes = [len(base64.b64decode(url.split(",", 1)[1])) for url in inline]
    return Seen(
        kind=record.kind,
        seconds=record.seconds,
        ended=record.started + record.seconds,
        body_bytes=int(record.headers.get("content-length", 0)),
        image_bytes=sizes,
        continued="previous_response_id" in body,
        file_images=sum(1 for p in parts if p.get("file_id")),
        upload_bytes=len(record.upload[1]) if record.upload else 0,
    )


def _serve(conn: Connection, options: dict[str, Any], scores: list[int]) -> None:
    from fakes import FakeOpenAIServer, draw_image

    faults = options.pop("faults", [])
    # Drawn before the clock starts: on a 2-core machine the fake's own CPU work would
    # otherwise be taken from the client under test, which a remote API's never is.
    for number in range(1, 9):
        for background in ("transparent", "opaque"):
            textured = bool(options.get("textured_images"))
            draw_image(number, "1024x1024", "png", background, textured=textured)
    with FakeOpenAIServer(**options) as server:
        server.script_scores(scores)
        server.script_faults(faults)
        conn.send(server.base_url)
        conn.recv()  # stop
        conn.send([_summary(record) for record in server.requests])


class RemoteFake:
    """``with RemoteFake(latency=..., scores=[...]) as fake: fake.base_url ... fake.seen``
    (``faults=[...]`` scripts the fake's faults, see tests/fakes/faults.py)."""

    def __init__(self, scores: list[int], **options: Any) -> None:
        self._scores, self._options = scores, options
        self.seen: list[Seen] = []

    def __enter__(self) -> RemoteFake:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self._options, self._scores), daemon=True
        )
        self._process.start()
        self.base_url: str = self._conn.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._conn.send("stop")
        self.seen = self._conn.recv()
        self._process.join(timeout=10)
