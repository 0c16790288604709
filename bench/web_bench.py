"""The web app's speed: how long an engine event takes to reach the page, and what the server
costs while nothing happens (bench, not a test).

Starts ``agentic-image-gen web`` (offline, local providers), opens a run's page in headless
Chromium (an EventSource, as the page's own script does) and, beside it, an httpx client of the
same stream; runs a long run (many candidates and rounds, so there are many events) and takes,
for every event received live, the time from the engine's event (``at``, stamped when the
engine called the app's sink) to its arrival. Then measures the server's CPU while idle, with
and without a page connected. Target: p95 <= 100 ms on loopback; idle CPU about zero.
Run: python bench/web_bench.py [--candidates 4 --rounds 6 --idle 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import launched, unavailable_reason  # noqa: E402
from web_server import WebServer, start_run  # noqa: E402

LISTEN = """([runId]) => new Promise((resolve) => {
  const delays = [];
  const source = new EventSource(`/api/runs/${runId}/events`);
  let opened = 0;
  source.onopen = () => { opened = Date.now(); };
  const names = ["run_started", "stage_started", "image_saved", "image_scored",
                 "review_requested", "run_finished"];
  for (const name of names) {
    source.addEventListener(name, (event) => {
      const now = Date.now();
      const at = JSON.parse(event.data).at * 1000;
      if (at >= opened) delays.push(now - at);
      if (name === "run_finished") { source.close(); resolve(delays); }
    });
  }
})"""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int, seconds: float) -> float:
    start, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start) / (time.monotonic() - began)


def percentiles(delays: list[float]) -> str:
    if not delays:
        return "no events"
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{len(ordered)} events: p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ordered[-1]:.1f} ms")


def httpx_delays(server: WebServer, run_id: str, out: list[float]) -> None:
    with server.client() as client, client.stream(
        "GET", f"/api/runs/{run_id}/events", timeout=300
    ) as response:
        opened = time.time()
        for line in response.iter_lines():
            if line.startswith("data: "):
                now = time.time()
                at = json.loads(line[6:])["at"]
                if at >= opened:
                    out.append(1000 * (now - at))
            if line == "event: run_finished":
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=4, help="runs in a row, their events pooled")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    args = parser.parse_args()
    if (reason := unavailable_reason()) is not None:
        print(f"skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        server = WebServer(Path(folder) / "runs", env={"AIG_SEGMENTER": "classical"},
                           log=Path(folder) / "web.log")
        try:
            print(f"idle, nothing open: {idle_cpu(server.process.pid, args.idle):.2f} % of a core")
            measured: list[float] = []
            page_delays: list[Any] = []
            with launched() as browser:
                page = browser.new_page()
                page.goto(server.url)
                for _ in range(args.runs):
                    with server.client() as client:  # many events: every candidate and round
                        run_id = start_run(client, candidates=args.candidates,
                                           max_iterations=args.rounds, threshold=100, patience=0,
                                           prompt="bench ring on a dark slate")
                    listener = threading.Thread(
                        target=httpx_delays, args=(server, run_id, measured)
                    )
                    listener.start()
                    page_delays += page.evaluate(LISTEN, [run_id])
                    listener.join(timeout=300)
                print(f"engine event -> page (Chromium EventSource): {percentiles(page_delays)}")
                print(f"engine event -> httpx client: {percentiles(measured)}")
                page.goto(f"{server.base}/r/{run_id}")  # a finished run's page stays open
                page.wait_for_timeout(1000)
                idle = idle_cpu(server.process.pid, args.idle)
                print(f"idle, a finished run's page open: {idle:.2f} % of a core")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
