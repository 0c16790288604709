"""``agentic-image-gen web`` in a process of its own, as a person starts it, for the web tests:
its printed address (with the token), an httpx client that sends the token, a stop (SIGTERM)
and a kill (SIGKILL)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "examples" / "ring.jpg"
PHOTOS = ROOT.parent / "shared" / "photos"
# Small and quick: the offline providers at 512 px with the classical cut (the cut's quality
# is not what these tests are about).
FAST = {
    "prompt": "18k gold ring with a blue stone, on white",
    "image": {"size": "512x512"},
    "segmenter": "classical",
    "threshold": 99,
}


class WebServer:
    def __init__(
        self, out: Path, *extra: str, env: Mapping[str, str] | None = None, log: Path
    ) -> None:
        self.out = out
        self.log = log
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIG_"))}
        environment.update(env or {})
        command = [sys.executable, "-m", "agentic_image_gen", "web", "--port", "0",
                   "--no-browser", "--out", str(out), *extra]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
            stderr=log.open("ab"), text=True,
        )
        self.url = self._first_line(timeout=60)
        parts = urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.token = parts.query.removeprefix("token=")

    def _first_line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"the web server did not start: {self.log.read_text()[-2000:]}")
        return line

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it: runs are journaled interrupted."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


def start_run(client: httpx.Client, refs: list[Path] | None = None, **config: Any) -> str:
    """POST /api/runs with ``config`` (the fast settings unless overridden); the run's id."""
    import json

    settings = {**FAST, **config}
    files = [("refs", (path.name, path.read_bytes(), "image/jpeg")) for path in refs or [RING]]
    answer = client.post("/api/runs", data={"config": json.dumps(settings)}, files=files)
    assert answer.status_code == 201, answer.text
    run_id: str = answer.json()["run_id"]
    return run_id


def wait_for(client: httpx.Client, run_id: str, *statuses: str, timeout: float = 60) -> dict:
    """The run (GET /api/runs/{id}) once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run['status']}, not {statuses}: {run}")
        time.sleep(0.1)


def sse_events(client: httpx.Client, run_id: str, last_event_id: str | None = None,
               until: str = "run_finished", times: int = 1) -> Iterator[dict[str, Any]]:
    """The run's server-sent events, parsed, until the ``times``-th named ``until``."""
    import json

    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with client.stream("GET", f"/api/runs/{run_id}/events", headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line:
                if "event" in event:
                    yield event
                    times -= event["event"] == until
                    if times == 0:
                        return
                event = {}
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            event[key] = json.loads(value) if key == "data" else value
