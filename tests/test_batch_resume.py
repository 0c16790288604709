"""A catalog batch killed with SIGKILL mid-way goes on where it stopped: products done stay as
they are, a product caught mid-run resumes its own run folder, and no product's work is done
twice (counted in images per run folder); and uploads with a Shopify export, against a local
S3 stand-in."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_batch import LOCAL, SHOPIFY, batch, photos
from test_storage import BUCKET, s3, s3_endpoint  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
TWO_ROUNDS = ("--provider", "local", "--segmenter", "classical", "--size", "512x512",
              "--max-iterations", "2", "--threshold", "100")


def statuses(out: Path) -> dict[str, str]:
    """The state as another process sees it (read only: the batch is its only writer)."""
    if not (out / "catalog.sqlite").is_file():
        return {}
    with sqlite3.connect(f"file:{out / 'catalog.sqlite'}?mode=ro", uri=True) as db:
        try:
            return dict(db.execute("SELECT id, status FROM products").fetchall())
        except sqlite3.OperationalError:  # the table is being made
            return {}


def mid_run(out: Path) -> dict[Path, dict[str, bytes]]:
    """Run folders whose run is still going, with the images their journal already holds
    (an image on disk but not yet journaled is the step in flight: a kill may lose it)."""
    found = {}
    for journal in out.glob("*/*/run.json"):
        try:
            data = json.loads(journal.read_text())
            status, iterations = data["status"], data["result"]["iterations"]
            images = {Path(it["image_path"]).name: (journal.parent / "images" /
                      Path(it["image_path"]).name).read_bytes() for it in iterations}
        except (ValueError, KeyError, OSError):
            continue
        if status == "running" and images:
            found[journal.parent] = images
    return found


def images_of(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "images").iterdir() if not p.name.startswith("."))


def test_a_batch_killed_mid_way_resumes_without_doing_any_work_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"ring{n}.jpg" for n in range(3)]
    photos(tmp_path, *names)
    rows = "".join(f"P{n},Ring {n},{name}\n" for n, name in enumerate(names))
    (tmp_path / "c.csv").write_text("sku,title,image\n" + rows)
    out = tmp_path / "out"
    argv = [str(tmp_path / "c.csv"), "--out", str(out), *TWO_ROUNDS, "--concurrency", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "agentic_image_gen", "batch", *argv, "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    caught: dict[Path, dict[str, bytes]] = {}
    while time.monotonic() < deadline and process.poll() is None:
        done = [i for i, status in statuses(out).items() if status == "done"]
        if done and (caught := mid_run(out)):
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert caught, f"the batch ended before it could be killed mid-run: {process.stderr}"
    before = statuses(out)
    finished = {i for i, status in before.items() if status == "done"}
    assert "running" in before.values()
    kept = {path: path.read_bytes() for i in finished for path in out.glob(f"{i}/*/run.json")}

    code, summary, err = batch(capsys, *argv)
    assert code == 0, err
    assert summary["counts"]["done"] == 3
    for product in ("P0", "P1", "P2"):
        # One run folder per product, never a second (a kill between a folder's mkdir and
        # its first journal can leave an empty one beside it, with no image in it).
        (run_dir,) = (out / product).glob("*/run.json")
        run_dir = run_dir.parent
        assert [p for p in (out / product).glob("*/images/*") if p.parent.parent != run_dir] == []
        journal = json.loads((run_dir / "run.json").read_text())
        iterations = journal["result"]["iterations"]
        indices = [it["index"] for it in iterations]
        assert indices == list(range(1, len(indices) + 1)) and len(indices) <= 2
        assert len(images_of(run_dir)) == len(indices)  # no image made twice
        assert journal["status"] == "completed"
    assert {path: path.read_bytes() for path in kept} == kept  # done products untouched
    for run_dir, images in caught.items():  # resumed in its own folder, its images kept
        for name, data in images.items():
            assert (run_dir / "images" / name).read_bytes() == data
    document = json.loads((out / "catalog.json").read_text())
    resumed = {str(run_dir) for run_dir in caught}
    assert resumed <= {product["run_dir"] for product in document["products"]}


def test_deliveries_are_uploaded_and_a_shopify_import_file_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], s3: Any, s3_endpoint: str  # noqa: F811
) -> None:
    photos(tmp_path, "front.jpg", "side.png")
    gold_ring = [line for line in SHOPIFY.splitlines() if not line.startswith(("silver", "lonely"))]
    (tmp_path / "shop.csv").write_text("\n".join(gold_ring) + "\n")
    out = tmp_path / "out"
    code, summary, err = batch(
        capsys, str(tmp_path / "shop.csv"), "--out", str(out), *LOCAL,
        "--profile", "instagram-feed", "--upload", f"s3://{BUCKET}/catalog/",
        "--export", "shopify",
    )
    assert code == 0, err
    (product,) = json.loads((out / "catalog.json").read_text())["products"]
    delivery = Path(product["delivery"])
    key = f"catalog/gold-ring/{delivery.name}"
    stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert stored == delivery.read_bytes()
    assert product["url"].startswith(f"{s3_endpoint}/{BUCKET}/{key}?")
    assert "X-Amz-Expires=604800" in product["url"]  # a catalog's links last a week
    assert httpx.get(product["url"]).content == stored
    rows = list(csv.DictReader(io.StringIO(Path(summary["export"]).read_text())))
    assert rows == [{"Handle": "gold-ring", "Image Src": product["url"], "Image Position": "1",
                     "Image Alt Text": "Gold ring <b>18k</b>"}]
    assert os.environ["AWS_ENDPOINT_URL"] == s3_endpoint
