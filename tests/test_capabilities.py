"""What an image model cannot do is refused before any call: one line, the model and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--image-model", "gpt-image-1.5", "--size", "1536x864"),
            "image model gpt-image-1.5 does not take custom sizes (--size 1536x864)",
        ),
        (
            ("--image-model", "gpt-image-2.6-sunburst", "--quality", "xhigh"),
            "image model gpt-image-2.6-sunburst does not support --quality xhigh",
        ),
        (
            ("--image-model", "gpt-image-1"),
            "image model gpt-image-1 was shut down",
        ),
        (
            ("--image-model", "gpt-image-2", "-o", "openai.input_fidelity=high"),
            "image model gpt-image-2 does not take input_fidelity high",
        ),
    ],
    ids=["custom-size", "xhigh", "shut-down", "input-fidelity"],
)
def test_impossible_settings_are_refused_before_any_call(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    flags: tuple[str, ...],
    message: str,
) -> None:
    code, output, err = run_cli(capsys, "gold ring", "--out", str(tmp_path), *flags)
    assert code == 2
    assert output == {}
    assert err.count("\n") == 1 and message in err
    assert openai_env.requests == []


def test_what_a_model_can_do_reaches_the_tool(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """xhigh on the gpt-image-2.5 family (the SDK lists it; the fake validates it), and
    input_fidelity on gpt-image-1.5; the model flags reach the provider."""
    openai_env.script_scores([95])
    code, _output, err = run_cli(
        capsys, "gold ring", "--out", str(tmp_path), "--quality", "xhigh", "--size", "1536x864",
    )
    assert code == 0, err
    tool = openai_env.generation_requests()[-1].body["tools"][0]
    assert (tool["quality"], tool["size"]) == ("xhigh", "1536x864")
    code, _output, err = run_cli(
        capsys, "gold ring", "--out", str(tmp_path), "--image-model", "gpt-image-1.5",
        "-o", "openai.input_fidelity=high",
    )
    assert code == 0, err
    tool = openai_env.generation_requests()[-1].body["tools"][0]
    assert (tool["model"], tool["input_fidelity"]) == ("gpt-image-1.5", "high")
