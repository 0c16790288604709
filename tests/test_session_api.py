"""The Session front ends stand on: streams of typed events, your own components, asyncio's
rules for cancelling and timing out, a closed session, validation in one place, settings
resolved once and reused by a resume."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from agentic_image_gen import (
    Evaluation,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    ImageSaved,
    ImageScored,
    Iteration,
    OutputFormat,
    RunConfig,
    RunFinished,
    RunResult,
    RunStarted,
    Session,
    StageStarted,
)
from agentic_image_gen.providers.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "examples" / "ring.jpg"


def png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (shade % 256, 90, 120)).save(out, "PNG")
    return out.getvalue()


class Generator:
    """Each image a different shade; its context names it."""

    def __init__(self, delay: float = 0.0, made: int = 0) -> None:
        self.delay = delay
        self.made = made  # a resumed run's generator goes on counting
        self.contexts: list[str | None] = []

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        self.contexts.append(request.context)
        await asyncio.sleep(self.delay)
        self.made += 1
        return GeneratedImage(png(self.made * 40), OutputFormat.PNG, 32, 32, f"ctx-{self.made}")


class Evaluator:
    def __init__(self, scores: Sequence[int]) -> None:
        self.scores = list(scores)

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        number = int((request.image.context or "ctx-1").split("-")[1])
        return Evaluation(score=self.scores[number - 1], feedback=f"image {number}: warmer")


class Prompter:
    conversation_id = None

    def __init__(self) -> None:
        self.histories: list[list[Iteration]] = []

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        self.histories.append(list(history))
        return f"{original_prompt} (round {len(history) + 1})"


def config(tmp_path: Path, **changes: object) -> RunConfig:
    values: dict[str, object] = {"prompt": "ring", "out_dir": tmp_path, "threshold": 99}
    values.update(changes)
    return RunConfig.model_validate(values)


def own(scores: Sequence[int], delay: float = 0.0, made: int = 0) -> dict[str, object]:
    return {
        "generator": Generator(delay, made),
        "evaluator": Evaluator(scores),
        "prompter": Prompter(),
    }


def inside(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def on_disk(path: str) -> bool:
    return Path(path).is_file()


def journal(run_dir: Path | str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((Path(run_dir) / "run.json").read_text())
    return loaded


async def test_stream_tells_every_step_in_order_and_ends_with_the_result(
    tmp_path: Path,
) -> None:
    events = []
    async with Session(registry=Registry([]), env={}) as session:
        async for event in session.stream(
            config(tmp_path, max_iterations=2, candidates=2), **own([40, 60, 70, 50])
        ):
            events.append(event)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert all(hasattr(e, "round") and hasattr(e, "candidate") for e in events)
    assert all(hasattr(e, "iteration") for e in events)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and isinstance(finished.result, RunResult)
    assert finished.stop_reason == "max_iterations" and finished.iteration == 3
    saved = [e for e in events if isinstance(e, ImageSaved)]
    scored = [e for e in events if isinstance(e, ImageScored)]
    assert [e.iteration for e in sorted(saved, key=lambda e: e.iteration)] == [1, 2, 3, 4]
    for image in saved:  # on disk, and announced before its score
        assert on_disk(image.image_path)
        position = events.index(image)
        assert position < next(
            i for i, e in enumerate(events) if isinstance(e, ImageScored)
            and e.iteration == image.iteration
        )
    assert sorted((e.round, e.candidate, e.score) for e in scored) == [
        (1, 1, 40), (1, 2, 60), (2, 1, 70), (2, 2, 50)
    ]
    assert {e.stage for e in events if isinstance(e, StageStarted)} == {
        "generating", "evaluating", "refining"
    }


async def test_your_own_components_run_a_loop_without_any_registry(tmp_path: Path) -> None:
    parts = own([50, 80])
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(config(tmp_path, max_iterations=2), **parts)  # type: ignore[arg-type]
    assert [it.score for it in result.iterations] == [50, 80]
    assert parts["generator"].contexts == [None, "ctx-1"]  # type: ignore[attr-defined]
    stored = journal(result.run_dir)["config"]["providers"]  # type: ignore[index]
    assert stored == {
        "provider": "own",
        "generator": "own:Generator",
        "evaluator": "own:Evaluator",
        "prompter": "own:Prompter",
    }
    async with Session(registry=Registry([]), env={}) as session:
        with pytest.raises(Exception, match=r"your own generator \(Generator\): pass generator="):
            await session.resume(result.run_dir, max_iterations=3)
        resumed = await session.resume(
            result.run_dir, max_iterations=3, **own([50, 80, 90], made=2)
        )
    assert [it.score for it in resumed.iterations] == [50, 80, 90]


async def test_a_component_that_is_not_one_is_refused_by_name(tmp_path: Path) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        with pytest.raises(TypeError, match="generator=Prompter does not satisfy"):
            await session.run(config(tmp_path), generator=Prompter())  # type: ignore[arg-type]
    assert inside(tmp_path) == []


async def test_cancelling_the_task_journals_interrupted_and_the_run_resumes(
    tmp_path: Path,
) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        saved = asyncio.Event()

        def on_event(event: object) -> None:
            if isinstance(event, ImageScored):
                saved.set()

        task = asyncio.create_task(
            session.run(config(tmp_path, max_iterations=3), on_event, **own([10, 20, 30], 0.2))
        )
        await saved.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        (run_dir,) = inside(tmp_path)
        assert journal(run_dir)["status"] == "interrupted"
        resumed = await session.resume(run_dir, **own([10, 20, 30]))  # the lock was released
    assert resumed.stop_reason == "max_iterations" and len(resumed.iterations) == 3


@pytest.mark.parametrize("how", ["timeout", "wait_for"])
async def test_asyncio_timeouts_give_timeout_error_and_leave_a_resumable_run(
    tmp_path: Path, how: str
) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        run = session.run(config(tmp_path, max_iterations=3), **own([10, 20, 30], 0.3))
        with pytest.raises(TimeoutError):
            if how == "timeout":
                async with asyncio.timeout(0.5):
                    await run
            else:
                await asyncio.wait_for(run, 0.5)
        (run_dir,) = inside(tmp_path)
        assert journal(run_dir)["status"] == "interrupted"
        done = len(journal(run_dir)["result"]["iterations"])  # type: ignore[index]
        resumed = await session.resume(run_dir, **own([10, 20, 30], made=done))
    assert [it.score for it in resumed.iterations] == [10, 20, 30]


async def test_a_closed_session_refuses_to_run(tmp_path: Path) -> None:
    session = Session(registry=Registry([]), env={})
    await session.aclose()
    with pytest.raises(RuntimeError, match="this Session is closed"):
        await session.run(config(tmp_path), **own([50]))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="this Session is closed"):
        async for _ in session.stream(config(tmp_path), **own([50])):
            pass
    assert inside(tmp_path) == []


def test_run_config_refuses_every_bad_form_at_once_in_its_own_words() -> None:
    with pytest.raises(ValidationError) as caught:
        RunConfig.model_validate(
            {
                "prompt": "ring",
                "lock_product": True,
                "threshold": True,
                "max_iterations": False,
                "max_cost": True,
                "review": "sometimes",
            }
        )
    fields = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert {"threshold", "max_iterations", "max_cost", "review"} <= fields
    text = str(caught.value)
    assert "must be a number, not true or false" in text
    assert "--" not in text  # never a CLI flag
    with pytest.raises(ValidationError, match="lock_product needs a reference photo"):
        RunConfig(prompt="ring", lock_product=True)


async def test_names_that_are_not_installed_fail_before_any_folder(tmp_path: Path) -> None:
    bad = config(
        tmp_path,
        segmenter="bogus",
        providers={"provider": "dalle", "generator": "dalle9"},
    )
    async with Session(env={}) as session:
        with pytest.raises(ValidationError) as caught:
            await session.run(bad)
    problems = {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}
    assert set(problems) == {"providers.provider", "providers.generator", "segmenter"}
    assert "'bogus' is not an installed segmenter (known: auto, birefnet" in problems["segmenter"]
    assert inside(tmp_path) == []


async def test_the_segmenter_is_resolved_once_journaled_and_kept_by_a_resume(
    tmp_path: Path,
) -> None:
    """A run cut by classical (chosen by the environment) resumes with classical, whatever
    the environment says then; and a resume after a kill between saving and scoring
    measures what the killed process had not."""
    base = config(tmp_path, refs=[str(RING)], max_iterations=1, threshold=100)
    async with Session(env={"AIG_SEGMENTER": "classical"}) as session:
        result = await session.run(base)
    stored = journal(result.run_dir)
    assert stored["config"]["segmenter"] == "classical"  # type: ignore[index]
    assert stored["config"]["providers"]["provider"] == "local"  # type: ignore[index]
    assert result.segmenter == "classical" and result.iterations[0].fidelity is not None
    # As a kill between saving the image and scoring it leaves the journal:
    path = Path(result.run_dir) / "run.json"
    raw = json.loads(path.read_text())
    raw["status"] = "running"
    raw["result"].update(stop_reason=None, segmenter=None)
    raw["result"]["iterations"][0].update(evaluation=None, fidelity=None)
    path.write_text(json.dumps(raw))
    async with Session(env={}) as session:  # no AIG_SEGMENTER now: auto would be u2netp
        resumed = await session.resume(result.run_dir)
    assert resumed.segmenter == "classical"
    assert resumed.iterations[0].fidelity is not None
    assert resumed.iterations[0].evaluation is not None
    output = resumed.output().to_json()
    assert output["fidelity_history"][0] is not None and output["segmenter"] == "classical"


async def test_an_image_is_in_place_before_it_is_scored_and_durable_before_the_journal_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's fsync runs beside its evaluation (store/run_store.py: JournalWriter): no
    journal written to disk names an image that has not been made durable before it."""
    from agentic_image_gen.store import run_store

    events: list[tuple[str, set[str]]] = []
    make_durable, write_snapshot = run_store.make_durable, run_store.RunStore.write_snapshot

    def durable(paths: Sequence[Path]) -> None:
        make_durable(paths)
        events.append(("durable", {path.name for path in paths}))

    def snapshot(store: run_store.RunStore, data: bytes) -> None:
        listed = {Path(it["image_path"]).name for it in json.loads(data)["result"]["iterations"]}
        events.append(("journal", listed))
        write_snapshot(store, data)

    monkeypatch.setattr(run_store, "make_durable", durable)
    monkeypatch.setattr(run_store.RunStore, "write_snapshot", snapshot)

    class Looking(Evaluator):
        async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
            number = (request.image.context or "ctx-1").split("-")[1]
            seen.append(any(Path(p).name == f"iter-0{number}.png" for p in saved()))
            return await super().evaluate_image(request)

    def saved() -> list[str]:
        return [str(p) for p in tmp_path.rglob("images/iter-*.png")]

    seen: list[bool] = []
    parts = {**own([50, 60, 70]), "evaluator": Looking([50, 60, 70])}
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(config(tmp_path, max_iterations=3), **parts)  # type: ignore[arg-type]
    assert seen == [True, True, True]  # each image whole in its folder before it was scored
    made_durable: set[str] = set()
    for kind, names in events:
        if kind == "durable":
            made_durable |= names
        else:
            assert names <= made_durable, f"the journal listed {names - made_durable} first"
    assert made_durable == {"iter-01.png", "iter-02.png", "iter-03.png"}
    assert len(result.iterations) == 3
