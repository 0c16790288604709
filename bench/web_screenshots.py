"""Screenshots of the web app for the README: the new-run page, a live run, a review and the
compare view, made by driving the app in headless Chromium on a development photo (offline,
local providers). Not a test: look at the pictures.
Run: python bench/web_screenshots.py [--out docs] [--photo ../shared/photos/07_...jpg]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import launched, unavailable_reason  # noqa: E402
from web_server import PHOTOS, RING, WebServer  # noqa: E402

PROMPT = (
    "18k yellow gold engagement ring with a round diamond halo, on a white seamless "
    "backdrop, soft studio light"
)


def shoot(page: Any, out: Path, name: str, **options: Any) -> None:
    path = out / name
    page.screenshot(path=str(path), **options)
    print(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--photo", type=Path, default=PHOTOS / "07_ring_white_ring_test_2.jpg")
    parser.add_argument("--verbose", action="store_true", help="print the page's requests")
    args = parser.parse_args()
    if (reason := unavailable_reason()) is not None:
        print(f"skipped: {reason}")
        return 0
    photo = args.photo if args.photo.is_file() else RING
    from playwright.sync_api import expect

    with tempfile.TemporaryDirectory() as folder, launched() as browser:
        server = WebServer(Path(folder) / "runs", log=Path(folder) / "web.log")
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 960},
                                    device_scale_factor=1)
            page.goto(server.url)
            if args.verbose:
                page.on("console", lambda m: print("console:", m.type, m.text))
                page.on("response", lambda r: print("response:", r.status, r.url))
            page.get_by_role("link", name="New run").click()
            page.get_by_label("Prompt").fill(PROMPT)
            page.get_by_label("Reference images").set_input_files(str(photo))
            page.get_by_label("Candidates").fill("3")
            page.get_by_label("Iterations").fill("3")
            page.get_by_label("Threshold").fill("99")
            page.get_by_label("Backdrop").select_option("opaque")
            page.get_by_label("Review").select_option("rounds")
            page.get_by_label("Prompt").focus()
            page.wait_for_timeout(300)
            shoot(page, args.out, "web-new-run.png")
            page.get_by_role("button", name="Start").click()
            page.wait_for_url("**/r/*")
            pick = page.get_by_role("button", name="Pick candidate 2")
            expect(pick).to_be_visible(timeout=60_000)
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Pick candidate 2").click()
            page.get_by_label("Notes").fill("warmer light, and the ring a little larger")
            shoot(page, args.out, "web-review.png", full_page=True)
            page.get_by_role("button", name="Continue").click()
            # Round 2 on its way: its pictures are on disk, their scores not yet.
            expect(page.locator("#rounds .card")).to_have_count(6, timeout=60_000)
            page.evaluate("window.scrollTo(0, 0)")
            shoot(page, args.out, "web-live-run.png")
            expect(page.get_by_role("button", name="Accept")).to_be_visible(timeout=60_000)
            page.get_by_role("button", name="Accept").click()
            expect(page.locator("#status-chip")).to_have_text("completed", timeout=60_000)
            best = page.locator("#rounds .card.best").first.get_attribute("data-index")
            page.get_by_role("button", name=f"Compare image {best}").click()
            page.get_by_label("Split").fill("52")
            page.locator("#compare-view").dispatch_event("input")
            page.get_by_role("button", name="Zoom in").click()
            page.wait_for_timeout(600)
            shoot(page, args.out, "web-compare.png", clip=_box(page, "#compare"))
        finally:
            server.stop()
    return 0


def _box(page: Any, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.locator(selector).bounding_box()
    page.evaluate(f"document.querySelector('{selector}').scrollIntoView()")
    box = page.locator(selector).bounding_box()
    margin = 16
    return {"x": box["x"] - margin, "y": box["y"] - margin,
            "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin}


if __name__ == "__main__":
    raise SystemExit(main())
