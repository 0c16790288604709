"""The offline default end to end: no key, no network, the README's command on the sample."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from local_images import SAMPLE, NetworkBlocked, block_network, decode  # noqa: F401

from agentic_image_gen.frontends import cli

PROMPT = "18k yellow gold ring with a Ceylon sapphire, soft studio light, white seamless background"
# Measured on examples/ring.jpg (bench/offline_bench.py): iteration 1 scores 62-69 by
# backdrop and the best reaches 100 within three iterations, a gain of 31-38; 25 is the margin.
MARGIN = 25


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else {}), captured.err


@pytest.mark.parametrize(
    ("flags", "fmt", "mode"),
    [
        ((), "PNG", "RGBA"),
        (("--background", "opaque", "--format", "jpeg"), "JPEG", "RGB"),
    ],
)
def test_the_loop_improves_the_sample_without_a_key(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    flags: tuple[str, ...],
    fmt: str,
    mode: str,
) -> None:
    argv = [PROMPT, "--refs", str(SAMPLE), "--out", str(tmp_path), "--max-iterations", "4"]
    argv += ["--threshold", "95"]
    code, output, err = run(capsys, *argv, *flags, "--quiet")
    assert code == 0, err
    scores = output["score_history"]
    assert len(scores) >= 2
    assert output["final_score"] == max(scores)
    assert output["final_score"] >= scores[0] + MARGIN, scores
    assert output["thread_id"] is None
    assert output["prompt_history"][0] == PROMPT
    assert all(p.startswith(PROMPT) for p in output["prompt_history"])
    assert all(ctx.startswith("studio:v1:") for ctx in output["response_ids"])
    for path in output["image_history"]:
        image = decode(Path(path).read_bytes())
        assert (image.format, image.size, image.mode) == (fmt, (1024, 1024), mode)
    first = decode(Path(output["image_history"][0]).read_bytes())
    best = decode(Path(output["best_image_url"]).read_bytes())
    assert not np.array_equal(np.asarray(first), np.asarray(best))
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    details = journal["result"]["iterations"][0]["evaluation"]["details"]
    assert details["evaluator"] == "technical"
    assert {"exposure", "centering", "fill"} <= {
        name for name, check in details["checks"].items() if not check["passed"]
    }


def test_a_text_only_prompt_fails_before_any_run_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    code, output, err = run(capsys, "a gold ring with a sapphire", "--out", str(out))
    assert code == 2
    assert output == {}
    (line,) = err.strip().splitlines()
    assert line.startswith("agentic-image-gen: error: ")
    assert "--refs" in line and "OPENAI_API_KEY" in line
    assert not out.exists()


def test_the_guard_blocks_the_network_but_not_loopback() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("api.openai.com", 443)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


def test_candidates_explore_and_the_best_one_leads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [PROMPT, "--refs", str(SAMPLE), "--out", str(tmp_path), "--candidates", "4"]
    code, output, err = run(capsys, *argv, "--max-iterations", "2", "--threshold", "100")
    assert code == 0, err
    first, second = output["rounds"]
    assert len(first["iterations"]) == 4
    # The sample is under-exposed: a candidate that tries more beats the one that only obeys.
    assert max(first["scores"]) > first["scores"][0]
    assert first["best_iteration"] != first["iterations"][0]
    assert max(second["scores"]) >= max(first["scores"])
    images = [Path(path).read_bytes() for path in output["image_history"][:4]]
    assert len(set(images)) == 4  # four different shots
