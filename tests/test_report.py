"""report.html from real runs: its structure, its escaping, and the page in a real Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from browser import unavailable_reason
from fakes import FakeOpenAIServer
from images import ring_photo

from agentic_image_gen.core.types import Fidelity, Iteration, OutputFormat
from agentic_image_gen.frontends import cli
from agentic_image_gen.store.report import prompt_diff, render_report, write_report
from agentic_image_gen.store.run_store import JOURNAL_NAME, RunJournal

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
XSS = "<script>window.__pwned=1</script>"
CRITIQUES = [
    "The band reads as flat yellow; the emerald is too small and sits off-centre.",
    "Better proportions. Add a crisp specular highlight on the stone and soften the shadow.",
    "Sharp, centred, clean transparent background: ready for the shop.",
]


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, for assertions."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **match: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in match.items())
        ]


@pytest.fixture
def make_run(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Any:
    """Run the CLI against the fake OpenAI server; return the run folder."""
    reference = tmp_path / "customer-ring.jpg"
    reference.write_bytes(ring_photo())

    def make(prompt: str, scores: list[int], *extra: str) -> Path:
        replies = [
            json.dumps({"score": s, "feedback": c}) for s, c in zip(scores, CRITIQUES, strict=False)
        ]
        openai_env.script_evaluator_replies(replies)
        argv = [prompt, "--refs", str(reference), "--out", str(tmp_path / "runs"), *extra]
        argv += ["--evaluator", "rubric"]  # the scripted replies are the rubric's {score, feedback}
        code = cli.main([*argv, "--max-iterations", "3", "--threshold", "90", "--quiet"])
        assert code == 0
        return Path(json.loads(capsys.readouterr().out)["run_dir"])

    return make


def test_report_shows_every_iteration_offline(make_run: Any) -> None:
    run_dir = make_run("Gold ring with a round emerald", [58, 74, 93])
    report = write_report(run_dir)
    assert report == run_dir / "report.html"
    html = report.read_text(encoding="utf-8")
    page = Page(html)
    cards = page.all("article")
    assert [c["data-iteration"] for c in cards] == ["1", "2", "3"]
    assert [c["data-best"] for c in cards] == ["false", "false", "true"]
    sources = [img["src"] for img in page.all("img")]
    assert len(sources) == 1 + 1 + 3  # the best image, the reference, each iteration
    for src in sources:  # relative to the run folder, and there
        assert "://" not in src and not src.startswith("/")
        assert (run_dir / src).is_file()
    assert sources[1] == "references/ref-01.jpg"
    assert sources[2:] == [f"images/iter-{i:02d}.png" for i in (1, 2, 3)]
    assert not page.all("script") and not page.all("link")
    assert "url(" not in html and "@import" not in html and "https://" not in html
    assert len([a for a in page.all("div") if "checker" in a.get("class", "")]) == 5
    text = " ".join(" ".join(page.text).split())
    for expected in (*CRITIQUES, "gpt-image-2.5-sunburst", "1024x1024", "transparent", "93"):
        assert expected in text
    assert "threshold 90" in text and "customer-ring.jpg" in text
    assert len(page.all("circle")) == 3 and len(page.all("polyline")) == 1
    assert html.count("<ins>") >= 1  # iteration 2's prompt, diffed against iteration 1's


def test_opaque_jpeg_has_no_checkerboard(make_run: Any) -> None:
    run_dir = make_run("platinum band", [95], "--format", "jpeg", "--background", "opaque")
    page = Page(write_report(run_dir).read_text(encoding="utf-8"))
    assert not [a for a in page.all("div") if "checker" in a.get("class", "")]
    assert page.all("img")[-1]["src"] == "images/iter-01.jpg"


def test_user_and_model_text_is_escaped(make_run: Any, fake_openai: FakeOpenAIServer) -> None:
    run_dir = make_run(f'{XSS} ring "quoted" & <b>bold</b>', [95])
    journal = RunJournal.model_validate_json((run_dir / JOURNAL_NAME).read_bytes())
    evaluation = journal.result.iterations[0].evaluation
    assert evaluation is not None
    evaluation.feedback = '<img src=x onerror="alert(1)">'
    evaluation.details = {
        "requirements": [
            {"id": "r1", "question": "<q>A ring?</q>", "passed": True, "reason": ""},
            {"id": "r2", "question": "An emerald?", "passed": False, "reason": "<em>none</em>"},
        ],
        "failed_requirements": ["<i>R1</i>"],
        "quality": {"sharpness": 8, "<u>": "<u>"},
    }
    (run_dir / JOURNAL_NAME).write_text(journal.model_dump_json(), encoding="utf-8")
    html = render_report(run_dir)
    assert "<script" not in html and "<img src=x" not in html and "<i>R1</i>" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "&lt;i&gt;R1&lt;/i&gt;" in html and "failed requirements" in html
    assert "&amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<q>" not in html and "<em>" not in html and "<u>" not in html
    page = Page(html)
    assert [a["class"] for a in page.all("li") if a.get("class") in ("pass", "fail")] == [
        "pass",
        "fail",
    ]
    text = " ".join(" ".join(page.text).split())
    assert "1/2 passed" in text and "An emerald? — <em>none</em>" in text
    assert "sharpness: 8 · <u>: <u>" in text


def test_a_moved_run_folder_and_an_embedded_copy(make_run: Any, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "run"
    shutil.move(make_run("ring", [40, 95]), moved)
    page = Page(write_report(moved).read_text(encoding="utf-8"))
    assert all((moved / img["src"]).is_file() for img in page.all("img"))
    embedded = Page(render_report(moved, embed_images=True))
    assert all(img["src"].startswith("data:image/") for img in embedded.all("img"))
    assert "image file missing" not in " ".join(embedded.text)


def test_failed_and_empty_runs_still_render(make_run: Any) -> None:
    run_dir = make_run("ring", [40])
    path = run_dir / JOURNAL_NAME
    journal = RunJournal.model_validate_json(path.read_bytes())
    journal.status, journal.result.stop_reason = "failed", "error"
    journal.result.error = "the evaluator's reply was unusable twice"
    index = len(journal.result.iterations) + 1  # its image never reached the disk
    journal.result.iterations.append(
        Iteration(
            index=index,
            prompt="ring, sharper",
            image_path=str(run_dir / "images" / f"iter-{index:02d}.png"),
            width=64,
            height=64,
            output_format=OutputFormat.PNG,
        )
    )
    path.write_text(journal.model_dump_json(), encoding="utf-8")
    text = " ".join(" ".join(Page(render_report(run_dir)).text).split())
    assert "Not evaluated." in text and "unusable twice" in text and "image file missing" in text
    journal.result.iterations.clear()
    path.write_text(journal.model_dump_json(), encoding="utf-8")
    assert "No image was scored" in render_report(run_dir)


def test_candidates_diff_against_the_round_before_and_tie_breaks_show(make_run: Any) -> None:
    run_dir = make_run("ring", [40, 60, 61])
    path = run_dir / JOURNAL_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    for item, (round_, candidate, prompt) in zip(
        data["result"]["iterations"],
        [(1, 1, "a ring"), (2, 1, "a gold ring"), (2, 2, "a gold ring")],
        strict=True,
    ):
        item.update(round=round_, candidate=candidate, prompt=prompt)
    data["result"]["tie_breaks"] = [{"iterations": [3, 2], "winner": 2, "reason": "<b>crisper</b>"}]
    path.write_text(json.dumps(data), encoding="utf-8")
    html = render_report(run_dir)
    page = Page(html)
    assert [c["data-best"] for c in page.all("article")] == ["false", "true", "false"]
    text = " ".join(" ".join(page.text).split())
    assert "round 2 · candidate 2" in text and "Chosen over #3" in text
    assert "Rounds · images 2 of 3 · 3" in text  # --max-iterations counts rounds
    assert "&lt;b&gt;crisper&lt;/b&gt;" in html
    assert html.count("<ins>gold</ins>") == 2  # both candidates diffed against round 1


def test_prompt_diff_marks_insertions_and_deletions() -> None:
    assert prompt_diff(None, "a gold ring") == [("same", "a gold ring")]
    assert prompt_diff("a gold ring", "a rose gold ring, centred") == [
        ("same", "a"),
        ("ins", "rose"),
        ("same", "gold"),
        ("del", "ring"),
        ("ins", "ring, centred"),
    ]
    assert prompt_diff("a  gold\nring", "a gold ring") == [("same", "a gold ring")]


browser_missing = unavailable_reason()
needs_browser = pytest.mark.skipif(browser_missing is not None, reason=browser_missing or "")


def open_report(page: Any, report: Path) -> list[str]:
    """Load the report; return the console errors (a CSP violation would be one)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    return errors


@needs_browser
def test_report_in_chromium_loads_every_image_and_marks_the_best(
    make_run: Any, browser_page: Any
) -> None:
    run_dir = make_run("Gold ring with a round emerald, studio product shot", [58, 74, 93])
    report = write_report(run_dir)
    page = browser_page
    errors = open_report(page, report)
    widths = page.eval_on_selector_all(
        "article[data-iteration] img", "imgs => imgs.map(i => i.naturalWidth)"
    )
    assert widths == [1024, 1024, 1024]
    assert page.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
    best = page.eval_on_selector_all(
        "article[data-best='true']", "cards => cards.map(c => c.dataset.iteration)"
    )
    assert best == ["3"]
    assert page.inner_text("#iteration-3 .badge-best").strip().lower().endswith("best")
    assert page.is_visible("#score-chart")
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "report-mobile.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert shot.stat().st_size > 10_000
    if os.environ.get("AIG_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on demand
        assert shot.stat().st_size < 400_000
        shutil.copyfile(shot, ROOT / "docs" / "report-screenshot.png")


@needs_browser
def test_a_script_in_the_prompt_is_shown_not_run(make_run: Any, browser_page: Any) -> None:
    run_dir = make_run(f"{XSS} gold ring", [95])
    page = browser_page
    open_report(page, write_report(run_dir))
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 0
    assert XSS in page.inner_text("#original-prompt")
    assert XSS in page.inner_text("#iteration-1 .prompt-box")


def test_report_shows_reported_and_estimated_costs_apart(make_run: Any) -> None:
    run_dir = make_run("Gold ring", [93])
    journal = json.loads((run_dir / JOURNAL_NAME).read_text())
    usage = journal["result"]["usage"]
    reported = sum(r["reported_usd"] or 0 for r in usage)
    estimated = sum(r["estimated_usd"] or 0 for r in usage)
    assert 0 < estimated < reported  # the reference's image tokens are in the reported cost
    page = Page(render_report(run_dir))
    text = " ".join(" ".join(page.text).split())
    assert f"reported cost ${reported:.4f}" in text
    assert f"estimated before the calls ${estimated:.4f}" in text


def test_a_fidelity_missing_part_of_its_colour_split_still_renders(make_run: Any) -> None:
    """Runs measured before the ΔE split was journaled, or a hand-edited journal, may hold
    only one of ΔL* and Δa*b*: the report shows what is there (it raised an internal error)."""
    run_dir = make_run("ring", [40, 50, 60])
    path = run_dir / JOURNAL_NAME
    journal = RunJournal.model_validate_json(path.read_bytes())
    splits = [(None, 0.5), (-1.3, None), (None, None)]
    for iteration, (delta_l, delta_ab) in zip(journal.result.iterations, splits, strict=True):
        iteration.fidelity = Fidelity(
            ssim=0.9, delta_e=4.0, delta_l=delta_l, delta_ab=delta_ab, shape_iou=0.95
        )
    path.write_text(journal.model_dump_json(), encoding="utf-8")
    found = re.findall(r'<div class="meta fidelity"[^>]*>(.*?)</div>', render_report(run_dir))
    lines = [" ".join(line.split()) for line in found]
    assert lines == [
        "fidelity to the reference: SSIM 0.90 · ΔE 4.0 (Δa*b* 0.5) · shape 0.95",
        "fidelity to the reference: SSIM 0.90 · ΔE 4.0 (ΔL* -1.3) · shape 0.95",
        "fidelity to the reference: SSIM 0.90 · ΔE 4.0 · shape 0.95",
    ]
