"""A person's region edit: one more iteration of a stopped run, journaled, judged like any
other; refused in one line when the mask does not fit or the generator cannot edit."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_session_api import Evaluator, Generator, Prompter, config, journal, on_disk, png

from agentic_image_gen import (
    GeneratedImage,
    ImageSaved,
    ImageScored,
    OutputFormat,
    RegionEditor,
    RegionEditRequest,
    RunFinished,
    RunStarted,
    Session,
    StageStarted,
)
from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.engine.edit import edit_support
from agentic_image_gen.providers.registry import Registry


class Editor(Generator):
    """A generator that can also repaint a region (and keeps what it was asked)."""

    def __init__(self, made: int = 0) -> None:
        super().__init__(made=made)
        self.edits: list[RegionEditRequest] = []

    async def edit_region(self, request: RegionEditRequest) -> GeneratedImage:
        self.edits.append(request)
        self.made += 1
        return GeneratedImage(png(self.made * 40), OutputFormat.PNG, 32, 32, f"ctx-{self.made}")


def mask(size: tuple[int, int] = (32, 32), painted: bool = True) -> bytes:
    """Opaque, but the left half transparent (painted: to change) when ``painted``."""
    alpha = np.full((size[1], size[0]), 255, np.uint8)
    if painted:
        alpha[:, : size[0] // 2] = 0
    pixels = np.dstack([np.zeros((size[1], size[0], 3), np.uint8), alpha])
    out = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(out, "PNG")
    return out.getvalue()


def first_image(run_dir: str) -> bytes:
    return Path(run_dir, "images", "iter-01.png").read_bytes()


async def stopped_run(session: Session, tmp_path: Path) -> str:
    result = await session.run(
        config(tmp_path, max_iterations=1),
        generator=Editor(),
        evaluator=Evaluator([40, 90]),
        prompter=Prompter(),
    )
    assert result.stop_reason == "max_iterations"
    return result.run_dir


async def test_an_edit_is_the_runs_next_iteration(tmp_path: Path) -> None:
    events: list[object] = []
    editor = Editor(made=1)
    async with Session(registry=Registry([]), env={}) as session:
        run_dir = await stopped_run(session, tmp_path)
        result = await session.edit(
            run_dir, events.append, iteration=1, mask=mask(), prompt="  a bluer   stone ",
            generator=editor, evaluator=Evaluator([40, 90]), prompter=Prompter(),
        )
    assert isinstance(editor, RegionEditor)
    (asked,) = editor.edits
    assert asked.prompt == "a bluer stone"
    assert asked.image == first_image(run_dir)
    alpha = np.asarray(Image.open(io.BytesIO(asked.mask)).convert("RGBA"))[..., 3]
    assert (alpha[:, :16] == 0).all() and (alpha[:, 16:] == 255).all()
    edited = result.iterations[-1]
    assert (edited.index, edited.round, edited.candidate) == (2, 2, 1)
    assert edited.prompt == "a bluer stone" and edited.score == 90
    assert on_disk(edited.image_path)
    assert result.stop_reason == "max_iterations"  # the run keeps the reason it stopped
    stored = journal(run_dir)
    assert stored["status"] == "completed"
    assert [it["index"] for it in stored["result"]["iterations"]] == [1, 2]  # type: ignore[index]
    assert result.output().best_iteration == 2
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is RunFinished
    assert ImageSaved in kinds and ImageScored in kinds and StageStarted in kinds


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ({"mask": mask((16, 16))}, "the mask is 16x16 px; the image is 32x32"),
        ({"mask": mask(painted=False)}, "the mask marks nothing to change"),
        ({"mask": b"not a png"}, "the mask is not a readable image"),
        ({"iteration": 9}, "the run has no image 9"),
        ({"prompt": "   "}, "describe the change"),
    ],
)
async def test_an_edit_that_does_not_fit_changes_nothing(
    tmp_path: Path, edit: dict[str, object], reason: str
) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        run_dir = await stopped_run(session, tmp_path)
        before = journal(run_dir)
        arguments = {"iteration": 1, "mask": mask(), "prompt": "bluer", **edit}
        with pytest.raises(InputError, match=reason):
            await session.edit(
                run_dir, generator=Editor(1), evaluator=Evaluator([40]), prompter=Prompter(),
                **arguments,  # type: ignore[arg-type]
            )
    assert journal(run_dir) == before


async def test_a_generator_that_cannot_edit_is_named(tmp_path: Path) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        run_dir = await stopped_run(session, tmp_path)
        with pytest.raises(InputError, match="cannot edit a region"):
            await session.edit(
                run_dir, iteration=1, mask=mask(), prompt="bluer",
                generator=Generator(1), evaluator=Evaluator([40]), prompter=Prompter(),
            )


def test_which_installed_generators_can_edit() -> None:
    registry = Registry.installed()

    def support(generator: str) -> str | None:
        chosen = RunConfig(prompt="ring", providers={"provider": "x", "generator": generator})
        return edit_support(registry, chosen)

    assert support("openai") is None
    assert support("studio") == "the studio generator cannot edit a region of an image"
    assert "not installed" in (support("nope") or "")
