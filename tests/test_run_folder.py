"""The run folder as a thing on disk (issue 16): relative paths, versions, one writer, modes.

Every test makes a real offline run (the local providers on the sample photo, small size) and
then moves, copies, edits, locks or damages its folder the way a user or a crash would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_images import SAMPLE, decode

from agentic_image_gen.frontends import cli

PROMPT = "gold ring with a sapphire, white seamless background"


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def local_run(capsys: pytest.CaptureFixture[str], out: Path, *flags: str) -> dict[str, Any]:
    argv = [PROMPT, "--refs", str(SAMPLE), "--out", str(out), "--size", "256x256"]
    code, stdout, err = call(capsys, *argv, "--max-iterations", "1", "--quiet", *flags)
    assert code == 0, err
    output: dict[str, Any] = json.loads(stdout)
    return output


@pytest.fixture
def umask_002() -> Iterator[None]:
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


def journal_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def test_journal_paths_are_relative_and_stdout_paths_absolute(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    run_dir = Path(output["run_dir"])
    assert run_dir.is_absolute() and run_dir.is_dir()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in output["image_history"])
    journal = journal_of(run_dir)
    assert journal["version"] == 2
    assert [it["image_path"] for it in journal["result"]["iterations"]] == ["images/iter-01.png"]
    assert [ref["path"] for ref in journal["references"]] == ["references/ref-01.jpg"]
    assert str(run_dir) not in (run_dir / "run.json").read_text()  # (the user's --out is kept)


def test_a_moved_folder_shows_and_a_copied_one_resumes_from_where_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = local_run(capsys, tmp_path / "runs")
    original = Path(first["run_dir"])
    moved = tmp_path / "elsewhere" / "kept"
    moved.parent.mkdir()
    shutil.move(original, moved)

    code, stdout, err = call(capsys, "show", str(moved))
    assert (code, err) == (0, "")
    shown = json.loads(stdout)
    assert shown["run_dir"] == str(moved.resolve())
    assert shown["image_history"] == [str(moved.resolve() / "images" / "iter-01.png")]
    assert shown["best_image_url"] == shown["image_history"][0]

    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)
    before = (moved / "run.json").read_bytes()
    code, stdout, err = call(
        capsys, "--resume", str(copy), "--max-iterations", "2", "--threshold", "100", "--quiet"
    )
    assert code == 0, err
    resumed = json.loads(stdout)
    assert resumed["run_dir"] == str(copy.resolve())
    assert len(resumed["image_history"]) == 2
    for path in resumed["image_history"]:
        assert Path(path).parent == copy.resolve() / "images"
        assert decode(Path(path).read_bytes()).size == (256, 256)
    assert (moved / "run.json").read_bytes() == before  # the original is untouched
    assert not (moved / "images" / "iter-02.png").exists()
    assert "Traceback" not in err


def test_a_version_1_journal_with_absolute_paths_still_loads_after_a_move(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    original = Path(output["run_dir"])
    journal = journal_of(original)
    journal["version"] = 1  # as version 1 wrote it: absolute paths everywhere
    journal["result"]["run_dir"] = str(original)
    for it in journal["result"]["iterations"]:
        it["image_path"] = str(original / it["image_path"])
    for ref in journal["references"]:
        ref["path"] = str(original / ref["path"])
    (original / "run.json").write_text(json.dumps(journal))
    moved = tmp_path / "moved"
    shutil.move(original, moved)

    code, stdout, err = call(capsys, "show", str(moved))
    assert (code, err) == (0, "")
    assert json.loads(stdout)["image_history"] == [str(moved.resolve() / "images/iter-01.png")]
    code, stdout, err = call(capsys, "--resume", str(moved), "--max-iterations", "2", "--quiet")
    assert code == 0, err
    assert journal_of(moved)["version"] == 2
    assert journal_of(moved)["references"][0]["path"] == "references/ref-01.jpg"


def test_a_journal_from_a_newer_version_is_refused_and_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    output = local_run(capsys, out)
    run_dir = Path(output["run_dir"])
    journal = journal_of(run_dir)
    journal["version"] = 3
    (run_dir / "run.json").write_text(json.dumps(journal))
    (run_dir / ".lock").unlink(missing_ok=True)
    before = (run_dir / "run.json").read_bytes()
    names = sorted(p.name for p in run_dir.iterdir())

    for argv in (["show", str(run_dir)], ["report", str(run_dir)]):
        code, stdout, err = call(capsys, *argv)
        assert (code, stdout) == (2, "")
        assert err.count("\n") == 1 and "written by a newer agentic-image-gen" in err
    code, stdout, err = call(capsys, "runs", "--out", str(out))
    assert (code, stdout) == (0, "")
    assert "skipped" in err and "newer" in err
    code, stdout, err = call(capsys, "--resume", str(run_dir), "--max-iterations", "2")
    assert (code, stdout) == (2, "")
    assert err.startswith("agentic-image-gen: error: ") and "version 3" in err
    assert (run_dir / "run.json").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == names  # no lock file, no temp file


HOLD = """
import sys, time
from pathlib import Path
from agentic_image_gen.store.run_store import RunStore
store = RunStore.open(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_writer_is_refused_with_exit_7_and_a_killed_one_never_blocks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    run_dir = Path(output["run_dir"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        code, stdout, err = call(capsys, "--resume", str(run_dir), "--max-iterations", "2")
        assert (code, stdout) == (7, "")
        assert err == (
            f"agentic-image-gen: error: {run_dir} is in use by another run (pid {holder.pid}); "
            "wait for it to finish\n"
        )
        code, stdout, _ = call(capsys, "show", str(run_dir))  # readers are never blocked
        assert code == 0 and json.loads(stdout)["iterations"] == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    code, stdout, err = call(capsys, "--resume", str(run_dir), "--max-iterations", "2", "--quiet")
    assert code == 0, err
    assert json.loads(stdout)["iterations"] == 2


def test_files_get_the_umask_mode_not_0600(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, umask_002: None
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    run_dir = Path(output["run_dir"])
    written = [run_dir / "run.json", run_dir / "report.html", *map(Path, output["image_history"])]
    written += list((run_dir / "references").iterdir())
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in written}
    assert set(modes.values()) == {"0o664"}, modes


def test_leftover_temp_files_of_a_killed_write_are_removed_on_resume(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    run_dir = Path(output["run_dir"])
    leftovers = [
        run_dir / ".run.json.k3j_x9q1",
        run_dir / "images" / ".iter-02.png.abc123",
        run_dir / "references" / ".ref-01.jpg.zz9a1b",
    ]
    for path in leftovers:
        path.write_bytes(b"half a write")
    keep = run_dir / "images" / ".notes"  # not ours: never deleted
    keep.write_text("mine")
    code, _, err = call(capsys, "--resume", str(run_dir), "--max-iterations", "2", "--quiet")
    assert code == 0, err
    assert [path for path in leftovers if path.exists()] == []
    assert keep.read_text() == "mine"
    assert decode((run_dir / "images" / "iter-02.png").read_bytes()).size == (256, 256)


def test_a_stored_size_of_8000x8000_is_refused_not_resumed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = local_run(capsys, tmp_path / "runs")
    run_dir = Path(output["run_dir"])
    journal = journal_of(run_dir)
    journal["config"]["image"]["size"] = "8000x8000"
    (run_dir / "run.json").write_text(json.dumps(journal))
    before = (run_dir / "run.json").read_bytes()
    code, stdout, err = call(capsys, "--resume", str(run_dir), "--max-iterations", "2")
    assert (code, stdout) == (2, "")
    assert err.startswith("agentic-image-gen: error: ") and err.count("\n") == 1
    assert "8000x8000" in err and "3840x2160" in err
    assert (run_dir / "run.json").read_bytes() == before
    assert not (run_dir / "images" / "iter-02.png").exists()


def test_a_prompt_with_an_undecodable_byte_is_journaled_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A non-UTF-8 byte in argv arrives as a lone surrogate; the journal keeps it escaped."""
    prompt = "gold ring \udcff white seamless background"
    argv = [prompt, "--refs", str(SAMPLE), "--out", str(tmp_path), "--size", "256x256"]
    code, stdout, err = call(capsys, *argv, "--max-iterations", "1", "--quiet")
    assert code == 0, err
    run_dir = Path(json.loads(stdout)["run_dir"])
    raw = (run_dir / "run.json").read_bytes()
    assert b"\\udcff" in raw
    assert json.loads(raw)["result"]["original_prompt"] == prompt
    code, stdout, err = call(capsys, "show", str(run_dir))
    assert (code, err) == (0, "")
    assert json.loads(stdout)["prompt_history"] == [prompt]


def test_the_lock_is_per_store_in_one_process_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two sessions of one process (a future web studio) must not share a folder either."""
    from agentic_image_gen.core.errors import RunFolderBusy
    from agentic_image_gen.store.run_store import RunStore

    run_dir = Path(local_run(capsys, tmp_path / "runs")["run_dir"])
    with RunStore.open(run_dir) as store:
        assert store.journal.result.run_dir == str(run_dir)
        with pytest.raises(RunFolderBusy, match="is in use by another run"):
            RunStore.open(run_dir)
    second = RunStore.open(run_dir)  # released by the with block
    second.close()
    second.close()  # twice is harmless
    assert int((run_dir / ".lock").read_text()) == os.getpid()
