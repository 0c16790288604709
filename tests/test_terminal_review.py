"""The CLI's reviewer: answers typed at a terminal (a real pseudo-terminal here), a line it
does not understand asked again, and no terminal at all refused in one line."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentic_image_gen.core.review import Candidate, ReviewRequest
from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.terminal_review import parse_answer

ROOT = Path(__file__).resolve().parent.parent


def test_answers_are_parsed_as_a_person_types_them() -> None:
    shown = tuple(Candidate(i, 2, i - 3, 50, "ok", f"/r/{i}.png") for i in (4, 5))
    request = ReviewRequest("/r", "round", 2, shown, 5)
    with pytest.raises(ValueError, match="not one of the candidates"):
        parse_answer("3", request)
    assert parse_answer("", request).pick == 5
    assert parse_answer("4 : warmer light", request).model_dump(include={"pick", "notes"}) == {
        "pick": 4,
        "notes": "warmer light",
    }
    accepted = parse_answer("a 4", request)
    assert (accepted.accept, accepted.pick, accepted.by) == (True, 4, "terminal")
    retried = parse_answer("r: too dark", request)
    assert (retried.retry, retried.pick, retried.notes) == (True, None, "too dark")
    assert parse_answer("p: a ring on slate", request).prompt == "a ring on slate"
    with pytest.raises(ValueError, match="not understood"):
        parse_answer("maybe", request)
    final = ReviewRequest("/r", "final", 2, shown, 5)
    assert parse_answer("4", final).pick == 4
    with pytest.raises(ValueError):
        parse_answer("r", final)


def test_review_without_a_terminal_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(["ring", "--review", "rounds", "--out", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "agentic-image-gen: error: --review rounds needs a terminal to answer at "
        "(stdin is not a TTY)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_person_at_a_terminal_approves_another_image(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIG_"))}
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentic_image_gen", "gold ring, white background",
         "--refs", str(ROOT / "examples" / "ring.jpg"), "--segmenter", "classical",
         "--size", "512x512", "--max-iterations", "2", "--threshold", "100",
         "--review", "final", "--quiet", "--out", str(tmp_path)],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )
    os.close(slave)
    said = bytearray()

    def listen() -> None:  # stderr as it comes (the questions end with "> ", no newline)
        while chunk := os.read(process.stderr.fileno(), 4096):  # type: ignore[union-attr]
            said.extend(chunk)

    listener = threading.Thread(target=listen)
    listener.start()
    try:
        deadline = time.monotonic() + 60
        while b"> " not in said and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.write(master, b"7\n")  # no such candidate: asked again
        while said.count(b"> ") < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.write(master, b"1\n")  # approve image 1 instead of the evaluator's pick
        out = process.stdout.read()  # type: ignore[union-attr]
        process.wait(timeout=60)
    finally:
        os.close(master)
        listener.join(timeout=10)
    assert process.returncode == 0, said.decode()
    assert b"final review:" in said and b"not one of the candidates" in said
    output = json.loads(out)
    assert output["best_iteration"] == 1 and output["reviews"][0]["by"] == "terminal"
    assert output["best_image_url"] == output["image_history"][0]
