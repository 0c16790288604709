"""The web app's parts without a server: the command's one-line errors, the state file (a
damaged one is kept aside), the event log's ids after a restart, decisions in engine terms."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from agentic_image_gen.core.review import Candidate, ReviewRequest
from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.web.events import EventLog
from agentic_image_gen.frontends.web.intake import DecisionBody, decision, upload_reason
from agentic_image_gen.frontends.web.state import STATE_DIR, STATE_NAME, StateFile


def test_a_busy_port_or_a_file_for_out_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["web", "--port", str(port), "--no-browser", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"cannot listen on 127.0.0.1:{port}" in err[0]
    a_file = tmp_path / "runs.txt"
    a_file.write_text("x")
    assert cli.main(["web", "--no-browser", "--out", str(a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["web", "--port", "70000", "--no-browser"]) == 2
    assert "--port 70000 is not a port" in capsys.readouterr().err


def test_a_damaged_state_file_is_kept_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / STATE_DIR).mkdir()
    path = tmp_path / STATE_DIR / STATE_NAME
    path.write_text('{"version": 1, "runs": [{"run_id": 3}]}')
    state = StateFile(tmp_path).load()
    assert state.runs == []
    (aside,) = (tmp_path / STATE_DIR).glob(f"{STATE_NAME}.damaged-*")
    assert json.loads(aside.read_text())["runs"] == [{"run_id": 3}]
    assert "is damaged" in capsys.readouterr().err


async def test_event_ids_of_another_server_replay_everything() -> None:
    log = EventLog("abc123")
    for number in range(3):
        log.append("stage_started", {"stage": "generating", "round": 1, "candidate": number})
    assert log.after(None) == 0
    assert log.after("abc123-2") == 2
    assert log.after("zzz999-2") == 0  # the server restarted: the page gets it all again
    assert log.after("abc123-99") == 3
    assert log.event_id(log.entries[0]) == "abc123-1"
    assert json.loads(log.entries[1].json)["candidate"] == 1


def request(kind: str) -> ReviewRequest:
    shown = tuple(Candidate(i, 1, i, 50, "ok", f"/r/iter-0{i}.png") for i in (1, 2))
    return ReviewRequest("/r", kind, 1, shown, suggested=2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "kind", "expected"),
    [
        ({"pick": 1}, "round", (1, False, False)),
        ({}, "round", (None, False, False)),  # the evaluator's choice
        ({"pick": None}, "round", (None, True, False)),  # none is good: try again
        ({"accept": True}, "round", (None, False, True)),  # the best so far
        ({"pick": None}, "final", (None, False, False)),  # approve the suggested one
    ],
)
def test_a_page_decision_in_engine_terms(body: dict, kind: str, expected: tuple) -> None:
    made = decision(DecisionBody.model_validate(body), request(kind))
    assert (made.pick, made.retry, made.accept) == expected and made.by == "web"


def test_an_engine_message_names_the_uploaded_file() -> None:
    message = "reference 'in-memory reference #2' is not a readable image (x)"
    assert upload_reason(message, ["a.jpg", "notes.txt"]) == (
        "reference 'notes.txt' is not a readable image (x)"
    )
