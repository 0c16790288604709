"""The catalog on Ray (batch --engine ray) on one cluster started for the test session with
``ray start --head`` (conftest's ``ray_cluster``), which every test attaches to: the same
catalog gives the same products, statuses and files as the local engine and leaves the cluster
up; the catalog's budget holds across workers calling the loopback OpenAI fake; a worker lost
mid-product leaves its run resumed on another."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import RayCluster
from images import ring_photo
from test_batch_openai import OPENAI, journals
from test_batch_openai import catalog as priced_catalog

from agentic_image_gen.frontends import cli

LOCAL = ("--provider", "local", "--segmenter", "classical", "--size", "512x512",
         "--max-iterations", "1")


def batch(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["batch", *argv, "--quiet"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def catalog(folder: Path) -> Path:
    for number, name in enumerate(("a.jpg", "b.jpg", "c.png")):
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        (folder / name).write_bytes(ring_photo(320 + 16 * number, 240, fmt=fmt))
    csv = folder / "shop.csv"
    csv.write_text(
        "sku,title,image\nR-1,gold ring,a.jpg\nR-2,silver ring,b.jpg\nR-3,rose ring,c.png\n"
        "R-4,no picture,\n"
    )
    return csv


def products(out: Path) -> list[tuple[str, str, int]]:
    listed = json.loads((out / "catalog.json").read_text())["products"]
    return sorted(
        (p["id"], p["status"], len(list((out / p["id"]).rglob("images/iter-*.png"))))
        for p in listed
    )


def test_ray_gives_the_local_engines_products_statuses_and_files_and_leaves_the_cluster_up(
    ray_cluster: RayCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import ray

    csv = catalog(tmp_path)
    local_code, local, _ = batch(capsys, str(csv), "--out", str(tmp_path / "local"), *LOCAL)
    code, on_ray, err = batch(capsys, str(csv), "--out", str(tmp_path / "ray"), "--engine", "ray",
                              "--ray-address", ray_cluster.address, *LOCAL)
    assert (code, local_code) == (10, 10), err  # the row without a picture is skipped
    assert on_ray["counts"] == local["counts"]
    assert products(tmp_path / "ray") == products(tmp_path / "local") == [
        ("R-1", "done", 1), ("R-2", "done", 1), ("R-3", "done", 1)
    ]
    for out in ("local", "ray"):
        page = (tmp_path / out / "catalog.html").read_text()
        assert "gold ring" in page and "R-3" in page
    assert not ray.is_initialized()  # the batch's connection ended with it...
    ray.init(address=ray_cluster.address, log_to_driver=False, configure_logging=False)
    try:  # ...and the cluster it attached to is still up, whole
        assert ray.cluster_resources().get("CPU") == 2
    finally:
        ray.shutdown()


def test_the_catalog_budget_holds_across_workers_calling_openai(
    ray_cluster: RayCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two workers, each a process of its own with its own Session and OpenAI client,
    reserve every round from the one limiter actor: together they never pass the budget."""
    fake, out, budget = ray_cluster.openai, tmp_path / "out", 0.05  # a product and a half
    before = len(fake.generation_requests())
    code, summary, err = batch(capsys, str(priced_catalog(tmp_path, 3)), "--out", str(out),
                               *OPENAI, "--max-cost", str(budget), "--concurrency", "2",
                               "--engine", "ray", "--ray-address", ray_cluster.address)
    assert code == 10, err
    counts = summary["counts"]
    assert counts["done"] >= 1 and counts["pending"] >= 1 and counts["failed"] == 0
    assert counts["done"] + counts["pending"] == 3
    runs = journals(out)
    spent = sum(record["cost_usd"] for run in runs for record in run["result"]["usage"])
    assert 0 < spent <= budget  # every call of every worker, from the run folders
    assert summary["cost_usd"] == pytest.approx(spent, abs=1e-4)
    images = sum(len(run["result"]["iterations"]) for run in runs)
    assert len(fake.generation_requests()) - before == images  # the workers called the fake
    for product in (p for p in summary["not_done"] if p["status"] == "pending"):
        assert product["error"].startswith("not started: the shared budget of 0.05 USD")
    assert fake.take_violations() == []


def test_ray_address_needs_the_ray_engine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = catalog(tmp_path)
    code, out, err = batch(capsys, str(csv), "--out", str(tmp_path / "o"), "--ray-address",
                           "auto", *LOCAL)
    assert (code, out) == (2, {})
    assert err == "agentic-image-gen: error: --ray-address needs --engine ray\n"


def test_a_refused_attach_names_the_token_settings_only_where_they_are_missing() -> None:
    from agentic_image_gen.frontends.batch.ray_runner import token_hint

    assert "RAY_AUTH_MODE=token" in token_hint("10.0.0.5:6379", {})
    assert token_hint("10.0.0.5:6379", {"RAY_AUTH_MODE": "token"}) == ""
    assert token_hint("auto", {}) == token_hint(None, {}) == ""  # Ray finds the token itself


async def test_a_worker_lost_mid_product_is_resumed_on_another(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    import ray

    from agentic_image_gen import RunConfig
    from agentic_image_gen.frontends.batch.ray_runner import RayRunner
    from agentic_image_gen.frontends.batch.work import Job, Progress

    photo = tmp_path / "ring.jpg"
    photo.write_bytes(ring_photo(640, 480))
    folder = tmp_path / "P1"
    config = RunConfig.model_validate(
        {"prompt": "gold ring, white background", "refs": [str(photo)], "out_dir": folder,
         "segmenter": "classical", "image": {"size": "512x512"}, "max_iterations": 4,
         "threshold": 100, "patience": 0, "providers": {"provider": "local"}}
    )
    runner = RayRunner(address=ray_cluster.address, workers=1, max_cost=None, rates={},
                       max_in_flight=None)
    await runner.start()
    try:
        progress: list[Progress] = []
        task = asyncio.ensure_future(runner.run(Job("P1", "P1", config, key="P1"), progress.append))
        await asyncio.to_thread(wait_until_saved, folder)  # then kill its worker
        ray.kill(runner.busy["P1"])
        outcome = await task
    finally:
        await runner.stop()
    assert outcome.status == "done" and runner.losses == 1
    (run_dir,) = run_folders(folder)  # resumed in the same folder, not started again
    # Progress reached the batch process as the run went, from both workers.
    assert {p.run_dir for p in progress} == {str(run_dir)}
    assert max(p.images for p in progress) >= 2 and progress[0].images == 0
    journal = json.loads((run_dir / "run.json").read_text())
    images = sorted(p.name for p in (run_dir / "images").iterdir())
    assert journal["status"] == "completed"
    assert len(images) == len(journal["result"]["iterations"]) >= 2  # nothing made twice


def wait_until_saved(folder: Path) -> None:
    """The first image of the product's run is on disk (the run is under way)."""
    import time

    deadline = time.monotonic() + 60
    while not any(folder.rglob("images/iter-01.png")) and time.monotonic() < deadline:
        time.sleep(0.02)


def run_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if (p / "run.json").is_file()]
