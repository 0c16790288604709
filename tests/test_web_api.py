"""The web app's JSON API and its locks, with httpx against the running app (offline, local
providers): the token, the cookie and Origin rules, uploads checked like CLI references, the
fields a request may not set, files only from inside the runs folder, CSP, server-sent events
with replay, the queue, decisions, resume."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from web_server import FAST, RING, WebServer, sse_events, start_run, wait_for

from agentic_image_gen.core.types import MAX_REFERENCE_BYTES
from agentic_image_gen.frontends.web.security import PAGE_CSP, REPORT_CSP


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    out = tmp_path_factory.mktemp("web-api")
    running = WebServer(out / "runs", "--max-runs", "2", log=out / "web.log")
    yield running
    running.stop()


@pytest.fixture
def client(server: WebServer) -> Iterator[httpx.Client]:
    with server.client() as opened:
        yield opened


XSS_PROMPT = '<script>window.pwned=1</script> gold "ring"'


@pytest.fixture(scope="module")
def finished(server: WebServer) -> str:
    """One run of two candidates and one round, finished (shared: runs take their time)."""
    with server.client() as client:
        run_id = start_run(client, prompt=XSS_PROMPT, candidates=2, max_iterations=1)
        wait_for(client, run_id, "completed")
    return run_id


def folders(server: WebServer) -> list[str]:
    return sorted(p.name for p in server.out.iterdir() if not p.name.startswith("."))


def post_run(client: httpx.Client, config: dict, files: list | None = None) -> httpx.Response:
    return client.post("/api/runs", data={"config": json.dumps(config)}, files=files or [])


# ---- the token, the cookie, Origin ---------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/", "/new", "/api/runs", "/static/app.css", "/docs", "/openapi.json",
             "/runs/x/images/iter-01.png"]
)
def test_without_the_token_only_401(server: WebServer, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "aig_token_1=wrong"}):
        answer = httpx.get(server.base + path, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"detail": "unauthorized: open the address the server printed"}
    assert httpx.get(f"{server.base}{path}?token=wrong").status_code == 401


def test_the_printed_address_sets_a_strict_cookie_and_drops_the_token(server: WebServer) -> None:
    with httpx.Client(base_url=server.base) as browser:
        first = browser.get(f"/new?token={server.token}")
        assert first.status_code == 303 and first.headers["location"] == "/new"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = browser.get("/new")  # the cookie alone now
        assert page.status_code == 200 and "<h1>New run</h1>" in page.text
        assert page.headers["content-security-policy"] == PAGE_CSP
        assert page.headers["x-content-type-options"] == "nosniff"
        # A change with the cookie needs the app's own Origin.
        own = {"Origin": server.base}
        assert browser.post("/api/runs/nope/cancel").status_code == 403
        assert browser.post("/api/runs/nope/cancel", headers={"Origin": "http://evil.test"}
                            ).status_code == 403
        assert browser.post("/api/runs/nope/cancel", headers=own).status_code == 404


def test_a_bearer_token_needs_no_origin_and_a_foreign_host_is_refused(
    client: httpx.Client, server: WebServer
) -> None:
    assert client.post("/api/runs/nope/cancel").status_code == 404  # past the guard
    rebound = client.get("/api/runs", headers={"Host": f"attacker.test:{server.base[-5:]}"})
    assert rebound.status_code == 403


# ---- what a run may not be given -------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"out_dir": "/tmp/elsewhere"}, "config.out_dir is not accepted"),
        ({"prices_file": "/etc/passwd"}, "config.prices_file is not accepted"),
        ({"refs": ["/etc/hostname"]}, "config.refs may hold only http(s) URLs"),
        ({"provider_options": {"openai": {"base_url": "http://evil.test"}}}, "base_url"),
        ({"provider_options": {"openai": {"api_key_env": "HOME"}}}, "api_key_env"),
        ({"allow_private_urls": True}, "start the server with --allow-private-urls"),
        ({"output_dir": "x"}, "unknown fields: output_dir"),
    ],
)
def test_fields_that_reach_outside_the_app_are_refused(
    client: httpx.Client, server: WebServer, change: dict, reason: str
) -> None:
    before = folders(server)
    answer = post_run(client, {**FAST, **change}, [("refs", ("r.jpg", RING.read_bytes()))])
    assert answer.status_code == 400 and reason in answer.json()["detail"]
    assert folders(server) == before


def test_bad_settings_are_named_all_at_once(client: httpx.Client) -> None:
    answer = post_run(client, {**FAST, "prompt": " ", "candidates": 99})
    assert answer.status_code == 400
    fields = {p["field"] for p in answer.json()["problems"]}
    assert fields == {"prompt", "candidates"}


# ---- uploads --------------------------------------------------------------------------------
def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")  # a bomb: tiny file, huge picture
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "status", "reason"),
    [
        ("notes.txt", lambda: b"not an image at all", 400, "'notes.txt' is not a readable image"),
        ("bomb.png", lambda: png(15_000, 15_000), 400,
         "is 15000x15000 px (225 MP); the limit is 200 MP"),
        ("huge.jpg", lambda: b"\xff" * (MAX_REFERENCE_BYTES + 1), 413,
         "huge.jpg is over the 100 MB limit"),
    ],
    ids=["text", "bomb", "over-the-limit"],  # made in the test: a 100 MB id takes 15 s to escape
)
def test_uploads_are_checked_like_cli_references(
    client: httpx.Client,
    server: WebServer,
    name: str,
    make: Callable[[], bytes],
    status: int,
    reason: str,
) -> None:
    data = make()
    before = folders(server)
    staged = sorted((server.out / ".aig-web" / "uploads").iterdir())
    answer = post_run(client, FAST, [("refs", (name, data))])
    assert answer.status_code == status and reason in answer.json()["detail"]
    assert "\n" not in answer.json()["detail"]
    assert folders(server) == before
    assert sorted((server.out / ".aig-web" / "uploads").iterdir()) == staged


def test_a_body_over_the_cap_is_413(client: httpx.Client) -> None:
    files = [("refs", (f"r{n}.jpg", b"\0" * (MAX_REFERENCE_BYTES * 3 // 4))) for n in range(3)]
    assert post_run(client, FAST, files).status_code == 413


# ---- events, files ---------------------------------------------------------------------------
def test_events_replay_from_the_start_or_from_the_last_seen(
    client: httpx.Client, finished: str
) -> None:
    run_id = finished
    events = list(sse_events(client, run_id))
    names = [e["event"] for e in events]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert names.count("image_saved") == names.count("image_scored") == 2
    saved = next(e for e in events if e["event"] == "image_saved")
    assert {"round", "candidate", "iteration", "image_path", "at"} <= set(saved["data"])
    scored = [e["data"] for e in events if e["event"] == "image_scored"]
    assert all(isinstance(d["score"], int) for d in scored)
    numbers = [int(e["id"].rsplit("-", 1)[1]) for e in events]
    assert numbers == list(range(1, len(events) + 1))
    again = list(sse_events(client, run_id))
    assert [e["id"] for e in again] == [e["id"] for e in events]
    missed = list(sse_events(client, run_id, last_event_id=events[3]["id"]))
    assert [e["id"] for e in missed] == [e["id"] for e in events[4:]]
    # The image an event names is served, as the page shows it.
    picture = client.get(saved["data"]["image_url"])
    assert picture.status_code == 200
    assert Image.open(io.BytesIO(picture.content)).size == (512, 512)


def test_files_only_from_inside_the_run_folder(client: httpx.Client, finished: str) -> None:
    run_id = finished
    folder = Path(client.get(f"/api/runs/{run_id}").json()["run_dir"])
    (folder / "images" / "out.png").symlink_to(RING)
    for path in ["images/../run.json", "run.json", ".lock", "images/out.png", "images//etc/passwd",
                 "references/%2e%2e/run.json", "images/iter-99.png", "../../etc/passwd"]:
        assert client.get(f"/runs/{run_id}/{path}").status_code == 404, path
    assert client.get(f"/runs/{run_id}/images/iter-01.png").status_code == 200
    assert client.get(f"/runs/{run_id}/references/ref-01.jpg").status_code == 200
    report = client.get(f"/r/{run_id}/report", follow_redirects=True)
    assert report.status_code == 200 and report.headers["content-security-policy"] == REPORT_CSP


def test_what_a_person_typed_is_escaped(client: httpx.Client, finished: str) -> None:
    run_id = finished
    for path in (f"/r/{run_id}", "/", "/partials/runs"):
        html = client.get(path).text
        assert "<script>window.pwned" not in html
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html


# ---- the queue, decisions, resume ------------------------------------------------------------
def test_a_photo_refused_when_its_run_begins_is_named_as_uploaded(
    client: httpx.Client, server: WebServer
) -> None:
    """A photo of the backdrop alone decodes (the upload is taken) but shows no product: the
    run stops before its folder, and its one line names the file as the person uploaded it
    (not the engine's 'in-memory reference #1'); its last event says it never began, so the
    page says why once."""
    before = folders(server)
    backdrop = io.BytesIO()
    Image.new("RGB", (256, 256), (240, 240, 240)).save(backdrop, "PNG")
    answer = post_run(client, FAST, [("refs", ("my ring.png", backdrop.getvalue()))])
    assert answer.status_code == 201, answer.text
    run = wait_for(client, answer.json()["run_id"], "failed")
    assert run["error"].startswith("reference 'my ring.png': "), run["error"]
    assert "in-memory" not in run["error"] and "\n" not in run["error"]
    last = list(sse_events(client, run["run_id"]))[-1]["data"]
    assert (last["status"], last["began"], last["error"]) == ("failed", False, run["error"])
    assert folders(server) == before


def test_runs_beyond_the_limit_wait_in_line_and_two_go_at_once(client: httpx.Client) -> None:
    ids = [start_run(client, candidates=1, max_iterations=1) for _ in range(3)]
    rows = {row["run_id"]: row for row in client.get("/api/runs").json()}
    assert rows[ids[2]]["status"] == "queued" and rows[ids[2]]["position"] == 1
    done = [wait_for(client, run_id, "completed") for run_id in ids]
    assert all(run["iterations"] == 1 for run in done)
    times = {}
    for run_id in ids:
        events = list(sse_events(client, run_id))
        times[run_id] = (events[0]["data"]["at"], events[-1]["data"]["at"])
    first, second, third = (times[i] for i in ids)
    assert second[0] < first[1]  # the second began before the first ended: two at once
    assert third[0] >= min(first[1], second[1])  # the third waited for a free slot


def test_decisions_through_the_api(client: httpx.Client) -> None:
    run_id = start_run(client, candidates=2, max_iterations=3, review="rounds")
    waiting = wait_for(client, run_id, "waiting")
    assert [c["iteration"] for c in waiting["review"]["candidates"]] == [1, 2]
    wrong = client.post(f"/api/runs/{run_id}/decision", json={"pick": 7})
    assert wrong.status_code == 400 and "pick 7 is not one of the candidates" in wrong.text
    again = client.post(f"/api/runs/{run_id}/decision", json={"pick": None, "notes": "too dark"})
    assert again.status_code == 200
    wait_for(client, run_id, "waiting")
    accept = client.post(f"/api/runs/{run_id}/decision", json={"accept": True})
    assert accept.status_code == 200
    run = wait_for(client, run_id, "completed")
    first, second = run["reviews"][:2]
    assert first["retry"] and first["notes"] == "too dark" and first["pick"] is None
    assert second["accept"] and run["stop_reason"] == "accepted"
    late = client.post(f"/api/runs/{run_id}/decision", json={"accept": True})
    assert late.status_code == 409


def test_cancel_then_resume_with_new_limits(client: httpx.Client) -> None:
    run_id = start_run(client, candidates=1, max_iterations=2, review="rounds")
    wait_for(client, run_id, "waiting")
    assert client.post(f"/api/runs/{run_id}/cancel").json()["status"] == "interrupted"
    stopped = wait_for(client, run_id, "interrupted")
    assert stopped["stop_reason"] == "interrupted" and stopped["iterations"] == 1
    refused = client.post(f"/api/runs/{run_id}/resume", json={"candidates": 3})
    assert refused.status_code == 400
    resumed = client.post(f"/api/runs/{run_id}/resume", json={"max_iterations": 3})
    assert resumed.status_code == 202
    wait_for(client, run_id, "waiting")  # round 1 again: the decision was never made
    assert client.post(f"/api/runs/{run_id}/decision", json={"pick": 1}).status_code == 200
    wait_for(client, run_id, "waiting")
    assert client.post(f"/api/runs/{run_id}/decision", json={"accept": True}).status_code == 200
    run = wait_for(client, run_id, "completed")
    assert run["iterations"] == 2 and run["stop_reason"] == "accepted"
    events = sse_events(client, run_id, times=2)
    started = [e for e in events if e["event"] == "run_started"]
    assert [e["data"]["max_rounds"] for e in started] == [2, 3]  # the new limit


def test_a_region_edit_is_refused_with_the_reason_where_the_generator_cannot(
    client: httpx.Client, finished: str
) -> None:
    run_id = finished
    answer = client.post(
        f"/api/runs/{run_id}/edit", data={"iteration": "1", "prompt": "bluer stone"},
        files=[("mask", ("mask.png", png(512, 512)))],
    )
    assert answer.status_code == 409
    assert answer.json()["detail"] == "the studio generator cannot edit a region of an image"


def test_the_api_is_documented(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/events",
                 "/api/runs/{run_id}/decision", "/api/runs/{run_id}/cancel",
                 "/api/runs/{run_id}/resume", "/api/runs/{run_id}/edit"):
        assert path in schema["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_a_finished_run_shows_the_file_made_for_its_profile(client: httpx.Client) -> None:
    """A shop owner who picked a marketplace sees the file made for it and whether it meets
    every measured rule, and can download it."""
    run_id = start_run(client, profile="amazon-main", max_iterations=1)
    delivery = wait_for(client, run_id, "completed")["delivery"]
    page = client.get(f"/r/{run_id}").text
    line = re.search(r'<p class="delivery" id="delivery">(.*?)</p>', page, re.S)
    assert line is not None, page
    text = " ".join(re.sub(r"<[^>]+>", " ", line.group(1)).split())
    href = re.search(r'href="([^"]+)" download', line.group(1))
    assert href is not None and href.group(1).startswith(f"/runs/{run_id}/delivery/")
    delivered = Image.open(io.BytesIO(client.get(href.group(1)).content))
    size = f"{delivered.width}\N{MULTIPLICATION SIGN}{delivered.height} {delivered.format}"
    assert text.startswith(f"For amazon-main: {size}"), text
    failing = [rule["rule"] for rule in delivery["rules"] if not rule["passed"]]
    assert delivery["compliant"] == (not failing)
    assert ("meets every measured rule" in text) == (not failing), text
    assert all(rule in text for rule in failing), text
