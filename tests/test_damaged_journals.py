"""`show`, `report` and `runs` on hand-edited and damaged journals never trace back (issue 16).

The commands run in-process through ``cli.main`` with stdout a strict UTF-8 stream (as a real
pipe is), so a lone surrogate that would crash a real terminal write crashes here too.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from local_images import SAMPLE

from agentic_image_gen.frontends import cli

PREFIX = "agentic-image-gen: error: "


def invoke(*argv: str) -> tuple[int, str, str]:
    """``cli.main`` with real byte streams behind stdout (strict UTF-8) and stderr."""
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(list(argv))
    stdout.flush()
    stderr.flush()
    return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real offline run, two iterations: the journal every case starts from."""
    out = tmp_path_factory.mktemp("template")
    argv = ["gold ring, white seamless background", "--refs", str(SAMPLE), "--out", str(out)]
    code, stdout, err = invoke(*argv, "--size", "256x256", "--max-iterations", "2", "--quiet")
    assert code == 0, err
    return Path(json.loads(stdout)["run_dir"])


@pytest.fixture(scope="module")
def workspace(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A parent folder holding one copy of the run, whose run.json each case rewrites."""
    parent = tmp_path_factory.mktemp("work")
    shutil.copytree(template, parent / "run")
    yield parent


def assert_one_error_line(code: int, stdout: str, stderr: str) -> None:
    assert code != 0
    assert stdout == ""
    assert stderr.startswith(PREFIX) and stderr.endswith("\n"), stderr
    assert stderr.count("\n") == 1, stderr
    assert "internal error" not in stderr, stderr


def check_all_commands(parent: Path) -> str:
    """The property: each command gives a correct result, or exactly one error line. Returns
    what ``show`` did, for the statistics."""
    run_dir = parent / "run"
    (run_dir / "report.html").unlink(missing_ok=True)
    code, stdout, stderr = invoke("show", str(run_dir))
    if code == 0:
        shown = json.loads(stdout)
        assert stderr == ""
        assert shown["run_dir"] == str(run_dir.resolve())
        assert len(shown["image_history"]) == len(shown["prompt_history"])
    else:
        assert_one_error_line(code, stdout, stderr)
    code, stdout, stderr = invoke("report", str(run_dir))
    if code == 0:
        assert stderr == ""
        assert Path(stdout.strip()) == run_dir.resolve() / "report.html"
        assert "</html>" in (run_dir / "report.html").read_text(encoding="utf-8")
    else:
        assert_one_error_line(code, stdout, stderr)
        assert not (run_dir / "report.html").exists()
    code, stdout, stderr = invoke("runs", "--out", str(parent))
    assert code == 0
    lines, warnings = stdout.splitlines(), stderr.splitlines()
    assert len(lines) + len(warnings) == 1, (stdout, stderr)
    for line in lines:
        cells = line.split("\t")
        assert len(cells) == 6 and all(cell.isprintable() for cell in cells), line
    for warning in warnings:
        assert warning.startswith("warning: ") and warning.endswith("; skipped"), warning
    return "listed" if lines else "skipped"


def write_journal(parent: Path, data: bytes) -> None:
    (parent / "run" / "run.json").write_bytes(data)


# ---- the property: run.json edited at random ---------------------------------------------

GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -1, 0, 8000, 16385, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["\x1b[31mred", "a\udcffb", "\u200b", "../../etc/passwd", "/abs/x.png"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
    return found


@st.composite
def edited_journals(draw: st.DrawFn, original: bytes) -> bytes:
    data: Any = json.loads(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = paths_of(data)
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "replace"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(GARBAGE)
    text = json.dumps(data, ensure_ascii=draw(st.booleans()), allow_nan=True)
    encoded = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "none", "truncate", "insert"]))
    at = draw(st.integers(min_value=0, max_value=len(encoded)))
    if damage == "truncate":
        encoded = encoded[:at]
    elif damage == "insert":
        encoded = encoded[:at] + draw(st.binary(min_size=1, max_size=8)) + encoded[at:]
    return encoded


HYPOTHESIS_EXAMPLES = int(os.environ.get("AIG_HYPOTHESIS_EXAMPLES", "60"))


@settings(
    max_examples=HYPOTHESIS_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_randomly_edited_journals_give_a_result_or_one_error_line(
    workspace: Path, template: Path, data: st.DataObject
) -> None:
    edit = data.draw(edited_journals((template / "run.json").read_bytes()))
    write_journal(workspace, edit)
    event("runs: " + check_all_commands(workspace))


# ---- the cases named in the issue, one by one --------------------------------------------


def edited(template: Path, change: Any) -> bytes:
    data = json.loads((template / "run.json").read_bytes())
    change(data)
    return json.dumps(data).encode()


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Any:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return change


CASES: dict[str, tuple[Any, str]] = {
    "wrong type": (_set(("result", "iterations"), "nope"), "is damaged"),
    "missing key": (_delete(("result",)), "is damaged"),
    "iteration not an object": (_set(("result", "iterations", 0), 7), "is damaged"),
    "huge number": (_set(("result", "iterations", 0, "width"), 10**400), "is damaged"),
    "stored size 8000x8000": (_set(("config", "image", "size"), "8000x8000"), "3840x2160"),
    "image of 8000x8000": (
        _set(("result", "iterations", 0, "width"), 8000),
        "larger than the run's size",
    ),
    "image of 0 px": (_set(("result", "iterations", 1, "height"), 0), "each side must be"),
    "size not text": (_set(("config", "image"), {"size": 5}), "config.image.size: Input should"),
    "settings not an object": (_set(("config", "image"), 1), "config.image: Input should be"),
    "threshold not a number": (_set(("config", "threshold"), "high"), "config.threshold: Input"),
    "threshold null": (_set(("config", "threshold"), None), "config.threshold: Input should"),
    "image path outside the folder": (
        _set(("result", "iterations", 0, "image_path"), "../../outside.png"),
        "is not inside the run folder",
    ),
    "absolute reference path": (
        _set(("references", 0, "path"), "/etc/hostname"),
        "is not inside the run folder",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_named_damage_is_one_line_for_show_and_report_and_skipped_by_runs(
    case: str, workspace: Path, template: Path
) -> None:
    change, message = CASES[case]
    write_journal(workspace, edited(template, change))
    for command in ("show", "report"):
        code, stdout, stderr = invoke(command, str(workspace / "run"))
        assert_one_error_line(code, stdout, stderr)
        assert message in stderr
    code, stdout, stderr = invoke("runs", "--out", str(workspace))
    assert (code, stdout) == (0, "")
    assert stderr.startswith("warning: ") and stderr.endswith("; skipped\n")


def test_invalid_utf8_and_a_truncated_journal(workspace: Path, template: Path) -> None:
    original = (template / "run.json").read_bytes()
    for data in (original.replace(b'"gold', b'"\xff\xfegold', 1), original[: len(original) // 2]):
        write_journal(workspace, data)
        code, stdout, stderr = invoke("show", str(workspace / "run"))
        assert_one_error_line(code, stdout, stderr)
        assert "is damaged" in stderr
        check_all_commands(workspace)


def test_a_prompt_with_an_undecodable_byte_and_control_characters(
    workspace: Path, template: Path
) -> None:
    prompt = "gold\udcffring \x1b[2J\x1b[31mred\nsecond line"

    def change(data: Any) -> None:
        data["result"]["original_prompt"] = data["result"]["iterations"][0]["prompt"] = prompt

    write_journal(workspace, edited(template, change))
    code, stdout, stderr = invoke("show", str(workspace / "run"))
    assert (code, stderr) == (0, "")
    assert "\\udcff" in stdout  # JSON's escape: the byte is kept, the stream is not broken
    code, stdout, stderr = invoke("runs", "--out", str(workspace))
    assert (code, stderr) == (0, "")
    (row,) = stdout.splitlines()
    assert "\x1b" not in stdout and "\\x1b[2J\\x1b[31mred" in row and "\\udcff" in row
    code, stdout, stderr = invoke("runs", "--out", str(workspace), "--json")
    assert json.loads(stdout)[0]["prompt"].startswith("gold\udcffring")
    check_all_commands(workspace)


def test_a_non_utf8_folder_name(template: Path, tmp_path: Path) -> None:
    parent = tmp_path / "runs"
    parent.mkdir()
    name = os.fsdecode(b"ring-\xff-\x1b[31m")
    shutil.copytree(template, parent / name)
    code, stdout, stderr = invoke("show", str(parent / name))
    assert (code, stderr) == (0, "")
    assert json.loads(stdout)["run_dir"] == str((parent / name).resolve())
    code, stdout, stderr = invoke("runs", "--out", str(parent))
    assert (code, stderr) == (0, "")
    assert "\\udcff-\\x1b[31m" in stdout and "\x1b" not in stdout
    code, stdout, stderr = invoke("report", str(parent / name))
    assert (code, stderr) == (0, "")
    assert (parent / name / "report.html").is_file()


def test_runs_out_a_file_is_an_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    code, stdout, stderr = invoke("runs", "--out", str(not_a_folder))
    assert_one_error_line(code, stdout, stderr)
    assert code == 2 and "is not a folder of runs" in stderr


@pytest.mark.parametrize("argv", [["runs", "--out"], ["show"], ["report", "/no/such/run"]])
def test_every_subcommand_takes_json_errors(argv: list[str], tmp_path: Path) -> None:
    if argv[0] == "runs":
        (tmp_path / "file").write_text("x")
        argv = [*argv, str(tmp_path / "file")]
    code, stdout, stderr = invoke(*argv, "--json-errors")
    assert code == 2
    assert stderr.startswith(PREFIX) and stderr.count("\n") == 1
    error = json.loads(stdout)["error"]
    assert error["exit_code"] == 2 and error["type"] == "InputError"
    assert error["message"] == stderr.removeprefix(PREFIX).strip()


def test_an_image_turned_the_other_way_than_asked_is_still_shown(
    workspace: Path, template: Path
) -> None:
    """Only a side longer than the run's longer side is refused: a provider may return
    landscape for portrait."""

    def change(data: Any) -> None:
        data["config"]["image"]["size"] = "1024x1536"
        data["result"]["iterations"][0].update(width=1536, height=1024)

    write_journal(workspace, edited(template, change))
    code, stdout, stderr = invoke("show", str(workspace / "run"))
    assert (code, stderr) == (0, "")
    assert json.loads(stdout)["iterations"] == 2
