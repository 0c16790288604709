"""The web app in a real browser (Debian's Chromium driven by Playwright), offline with the local
providers: a run started from the page with a development photo, its candidates appearing, a
person's pick, note and accept; a reload mid-run that loses no event; cancel; a bad upload's
reason on the page; the compare view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import expect
from web_server import PHOTOS, RING, WebServer, sse_events, start_run, wait_for

PHOTO = PHOTOS / "07_ring_white_ring_test_2.jpg"
SAMPLE = PHOTO if PHOTO.is_file() else RING  # a development photo where the clone has them


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    out = tmp_path_factory.mktemp("web-browser")
    running = WebServer(
        out / "runs", "--max-runs", "2", env={"AIG_SEGMENTER": "classical"}, log=out / "web.log"
    )
    yield running
    running.stop()


@pytest.fixture
def page(browser_page: Any, server: WebServer) -> Any:
    """A page signed in the way a person is: the printed address, once."""
    browser_page.goto(server.url)
    return browser_page


def test_the_token_becomes_a_cookie_and_leaves_the_address(page: Any, server: WebServer) -> None:
    assert "token" not in page.url
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = next(c for name, c in cookies.items() if name.startswith("aig_token_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()


def test_a_run_from_the_page_picked_noted_and_accepted(page: Any, server: WebServer) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.get_by_role("link", name="New run").click()
    page.get_by_label("Prompt").fill("18k gold ring with a blue stone, on white")
    page.get_by_label("Reference images").set_input_files(str(SAMPLE))
    expect(page.get_by_role("button", name=f"Remove {SAMPLE.name}")).to_be_visible()
    page.get_by_label("Candidates").fill("2")
    page.get_by_label("Iterations").fill("2")
    page.get_by_label("Size").select_option("512x512")
    page.get_by_label("Review").select_option("rounds")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/r/w[0-9a-f]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    cards = page.locator("#rounds .card")
    expect(cards).to_have_count(2)
    expect(page.locator("#rounds .card .score")).to_have_count(2)
    pick = page.get_by_role("button", name="Pick candidate 2")
    expect(pick).to_be_visible()
    images = page.eval_on_selector_all("#rounds .card img", "imgs => imgs.map(i => i.naturalWidth)")
    assert images == [512, 512]
    pick.click()
    expect(pick).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Notes").fill("warmer light, please")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#status-chip")).to_have_text(re.compile("completed"))
    with server.client() as client:
        run = client.get(f"/api/runs/{run_id}").json()
    # Candidates take their numbers in order: candidate 2 of round 1 is image 2.
    assert run["stop_reason"] == "accepted" and run["best_iteration"] == 2
    (review,) = run["reviews"]
    assert (review["pick"], review["notes"], review["accept"], review["by"]) == (
        2, "warmer light, please", True, "web")
    assert errors == []


def test_a_reload_mid_run_loses_no_event(page: Any, server: WebServer) -> None:
    with server.client() as client:
        run_id = start_run(client, candidates=2, max_iterations=2, review="rounds")
        wait_for(client, run_id, "waiting")
        served = list(sse_events(client, run_id, until="review_requested"))
    page.goto(f"{server.base}/r/{run_id}")
    expect(page.locator("body")).to_have_attribute("data-events", str(len(served)))
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-events", str(len(served)))
    expect(page.locator("#rounds .card")).to_have_count(2)
    expect(page.get_by_role("button", name="Pick candidate 1")).to_be_visible()
    # Going on from the page: the events that follow arrive on the reloaded page.
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#rounds .card")).to_have_count(4)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status-chip")).to_have_text(re.compile("interrupted"))
    expect(page.get_by_role("button", name="Resume")).to_be_visible()


def test_a_bad_upload_shows_its_reason_and_starts_nothing(
    page: Any, server: WebServer, tmp_path: Path
) -> None:
    before = sorted(p.name for p in server.out.iterdir())
    text = tmp_path / "ring.png"
    text.write_text("this is not a picture of a ring")
    page.goto(f"{server.base}/new")
    page.get_by_label("Prompt").fill("gold ring")
    page.get_by_label("Reference images").set_input_files(str(text))
    page.get_by_role("button", name="Start").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("'ring.png' is not a readable image")
    assert "/new" in page.url
    assert sorted(p.name for p in server.out.iterdir()) == before


def test_compare_two_images_with_a_slider(page: Any, server: WebServer) -> None:
    with server.client() as client:
        run_id = start_run(client, candidates=2, max_iterations=1)
        wait_for(client, run_id, "completed")
    page.goto(f"{server.base}/r/{run_id}")
    page.get_by_role("button", name="Compare image 2").click()
    compare = page.locator("#compare")
    expect(compare).to_be_visible()
    expect(page.get_by_label("After")).to_have_value("img-2")
    expect(page.get_by_label("Before")).to_have_value("ref-0")
    page.get_by_label("Split").fill("30")
    clip = page.eval_on_selector("#after-image", "i => i.style.clipPath")
    assert clip == "inset(0px 0px 0px 30%)"
    page.get_by_role("button", name="Zoom in").click()
    transform = page.eval_on_selector("#compare-stage", "s => s.style.transform")
    assert "scale(1.5)" in transform  # both images sit in the one zoomed stage: in step
    loaded = "i => i.complete && i.naturalWidth > 0"
    assert page.eval_on_selector("#before-image", loaded)
    assert page.eval_on_selector("#after-image", loaded)
    edit = page.get_by_role("button", name="Edit a region of image 2")
    expect(edit).to_be_disabled()
    assert "cannot edit a region" in (edit.get_attribute("title") or "")


def test_the_api_documentation_renders_offline(page: Any, server: WebServer) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.base}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("agentic-image-gen")
    expect(page.get_by_text("/api/runs/{run_id}/decision")).to_be_visible()
    assert errors == []
