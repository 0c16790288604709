"""Every stop is an honest stop: signals end a run like Ctrl-C, a journal is complete before
the first provider call, a vanished run folder still yields the partial result, a resume
says what it does, and a run that stopped improving stops."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from images import ring_photo
from scripted_providers import run_scripted
from test_candidates import CountingGenerator, EchoPrompter, ScriptedEvaluator, Tracker
from test_reliability import hung_in_second_generation

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import RunFailed
from agentic_image_gen.core.types import (
    GeneratedImage,
    GenerationRequest,
    Iteration,
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c(
    fake_openai: FakeOpenAIServer, tmp_path: Path, signum: signal.Signals
) -> None:
    fake_openai.script_scores([40])
    process = hung_in_second_generation(fake_openai, tmp_path)
    process.send_signal(signum)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 128 + signum
    output = json.loads(out)
    assert output["stop_reason"] == "interrupted"
    assert output["iterations"] == 1 and output["final_score"] == 40
    assert Path(output["report"]).is_file()
    assert "Traceback" not in err and err.strip().endswith("error: interrupted")
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["status"] == "interrupted"


class JournalReader(CountingGenerator):
    """Reads the run folder's journal at its first call, as a killed process would leave it."""

    def __init__(self, out: Path) -> None:
        super().__init__(Tracker())
        self.out = out
        self.seen: list[dict[str, object]] = []

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        if not self.seen:
            (run_dir,) = self.out.iterdir()
            self.seen.append(json.loads((run_dir / "run.json").read_text()))
        return await super().generate_image(request)


async def test_the_journal_is_complete_before_the_first_provider_call(tmp_path: Path) -> None:
    photo = tmp_path / "ring.jpg"
    photo.write_bytes(ring_photo())
    out = tmp_path / "runs"
    generator = JournalReader(out)
    config = RunConfig(prompt="ring", refs=(str(photo),), out_dir=out, max_iterations=1)
    await run_scripted(config, generator, ScriptedEvaluator(Tracker(), [50]), EchoPrompter())
    (journal,) = generator.seen
    (reference,) = journal["references"]  # type: ignore[misc]
    assert reference["source"] == str(photo)
    (run_dir,) = await asyncio.to_thread(lambda: list(out.iterdir()))
    stored = run_dir / reference["path"]  # type: ignore[index]  (relative to the folder)
    assert await asyncio.to_thread(stored.read_bytes) == await asyncio.to_thread(photo.read_bytes)
    assert journal["config"]["providers"]["provider"] == "test"  # type: ignore[index]


class FolderRemover(CountingGenerator):
    """Deletes the run folder under the run's feet at its second image."""

    def __init__(self, out: Path) -> None:
        super().__init__(Tracker())
        self.out = out
        self.calls = 0

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        self.calls += 1
        if self.calls == 2:
            for folder in self.out.iterdir():
                while folder.exists():  # the journal writer may be renaming a file in it
                    shutil.rmtree(folder, ignore_errors=True)
        return await super().generate_image(request)


async def test_a_run_folder_deleted_mid_run_still_gives_the_partial_result(
    tmp_path: Path,
) -> None:
    config = RunConfig(prompt="ring", out_dir=tmp_path, threshold=99)
    with pytest.raises(RunFailed) as failed:
        await run_scripted(
            config, FolderRemover(tmp_path), ScriptedEvaluator(Tracker(), [40, 50]), EchoPrompter()
        )
    assert failed.value.exit_code == 6
    assert "cannot write" in str(failed.value)
    partial = failed.value.partial
    assert [it.score for it in partial.iterations] == [40]  # from memory: the folder is gone
    assert partial.stop_reason == "error"
    assert not await asyncio.to_thread(Path(partial.run_dir).exists)


class FixedPrompter(EchoPrompter):
    """Always proposes the same prompt: a refinement that changes nothing."""

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        return original_prompt + ", sharp focus"


async def test_a_round_that_would_repeat_a_prompt_ends_the_run(tmp_path: Path) -> None:
    config = RunConfig(prompt="ring", out_dir=tmp_path, max_iterations=50, threshold=100)
    tracker = Tracker()
    result = await run_scripted(
        config, CountingGenerator(tracker), ScriptedEvaluator(tracker, [90] * 50), FixedPrompter()
    )
    assert result.stop_reason == "plateau"
    assert [it.prompt for it in result.iterations] == ["ring", "ring, sharp focus"]


@pytest.mark.parametrize(("patience", "rounds"), [(3, 5), (1, 3), (0, 8)])
async def test_rounds_without_a_gain_end_the_run(
    tmp_path: Path, patience: int, rounds: int
) -> None:
    config = RunConfig(
        prompt="ring", out_dir=tmp_path, max_iterations=8, threshold=100, patience=patience
    )
    tracker = Tracker()
    scores = [50, 70, 60, 70, 65, 40, 69, 70]  # the best (70) comes in round 2, then no gain
    result = await run_scripted(
        config, CountingGenerator(tracker), ScriptedEvaluator(tracker, scores), EchoPrompter()
    )
    assert len(result.iterations) == rounds
    assert result.stop_reason == ("plateau" if patience else "max_iterations")


def test_the_cli_reports_a_plateau(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([60, 80, 70, 75, 79, 90])
    code, output, _ = run_cli(
        capsys,
        "ring",
        "--out",
        str(tmp_path),
        "--max-iterations",
        "6",
        "--threshold",
        "95",
        "--evaluator",
        "rubric",
        "--patience",
        "2",
    )
    assert code == 0
    assert output["stop_reason"] == "plateau"
    assert output["score_history"] == [60, 80, 70, 75]


def test_resume_refuses_what_cannot_change_and_journals_what_can(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40])
    code, first, _ = run_cli(
        capsys, "ring", "--out", str(tmp_path), "--max-iterations", "1", "--evaluator", "rubric"
    )
    assert code == 0
    run_dir = first["run_dir"]
    for flag, value in [
        ("--size", "1024x1536"),
        ("--candidates", "2"),
        ("--refs", "x.png"),
        ("--provider", "local"),
        ("--format", "webp"),
        ("--quality", "low"),
    ]:
        code, output, err = run_cli(capsys, "--resume", run_dir, flag, value)
        assert (code, output) == (2, {})
        assert err.count("\n") == 1 and f"error: {flag} cannot change on --resume" in err
    openai_env.script_scores([90])
    code, output, _ = run_cli(
        capsys,
        "--resume",
        run_dir,
        "--max-iterations",
        "2",
        "--threshold",
        "80",
        "--timeout",
        "30",
        "--retries",
        "2",
    )
    assert code == 0 and output["score_history"] == [40, 90]
    config = json.loads((Path(run_dir) / "run.json").read_text())["config"]
    assert (config["max_iterations"], config["threshold"]) == (2, 80)
    assert (config["call_timeout"], config["retry_budget"]) == (30, 2)


def test_the_help_names_the_exit_codes() -> None:
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "agentic_image_gen", "--help"], capture_output=True, text=True
    )
    assert "130  interrupted" in done.stdout


async def test_a_refinement_is_written_beside_the_next_generation_and_on_disk_before_its_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's write of a refinement overlaps the next round's generation, and that
    round's image is saved only once the refinement is on disk (a slow disk shows both)."""
    from agentic_image_gen.store.run_store import RunStore

    events: list[str] = []
    write, save = RunStore.write_snapshot, RunStore.save_image

    def slow_write(store: RunStore, data: bytes) -> None:
        pending = json.loads(data)["result"]["pending_prompt"]
        time.sleep(0.05)
        write(store, data)
        events.append(f"written {pending}" if pending else "written")

    def saving(store: RunStore, index: int, image: GeneratedImage, durable: bool = True) -> Path:
        on_disk = json.loads((store.run_dir / "run.json").read_text())["result"]
        events.append(f"saving {index} after {on_disk['pending_prompt']}")
        return save(store, index, image, durable)

    class Generator(CountingGenerator):
        async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
            events.append(f"generating {request.prompt}")
            return await super().generate_image(request)

    monkeypatch.setattr(RunStore, "write_snapshot", slow_write)
    monkeypatch.setattr(RunStore, "save_image", saving)
    config = RunConfig(prompt="ring", out_dir=tmp_path, max_iterations=2, threshold=99)
    tracker = Tracker()
    evaluator = ScriptedEvaluator(tracker, [40, 50])
    await run_scripted(config, Generator(tracker), evaluator, EchoPrompter())
    refined = "ring (round 2)"
    generating = events.index(f"generating {refined}")
    assert events.index(f"written {refined}") > generating  # the write overlapped it
    assert f"saving 2 after {refined}" in events  # and landed before the image was kept
