"""The engine as a library: the README's example as written, two runs at once in one
session with separate budgets, and a third-party provider installed by entry point."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from scripted_providers import FromContext, scripted_session, with_scripted
from test_candidates import CountingGenerator, EchoPrompter, ScriptedEvaluator, Tracker

from agentic_image_gen import RunConfig
from agentic_image_gen.core.types import GeneratedImage, GenerationRequest
from agentic_image_gen.core.usage import CallRecord
from agentic_image_gen.providers.base import ProviderContext

ROOT = Path(__file__).resolve().parent.parent


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIG_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def test_the_readmes_library_examples_run_as_written(tmp_path: Path) -> None:
    """Every block of the library section, each a script of its own, run in one process (one
    interpreter and one model load for all): a run and its resume, a stream, your own
    components, a timeout and a resume, a reviewer."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use it as a library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 5, "README's library examples moved"
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "ring.jpg", tmp_path / "examples" / "ring.jpg")
    (tmp_path / "examples.py").write_text("\n\n".join(blocks))
    done = subprocess.run(
        [sys.executable, "examples.py"],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The first: a run, then a resume with higher limits.
    assert out.splitlines()[0].startswith("round 1, candidate 1: ")
    best = re.search(r"^best: (\d+) at (.+)$", out, re.M)
    assert best is not None and int(best.group(1)) >= 90
    final = re.search(r"^final: (\d+), (\w+)$", out, re.M)
    assert final is not None and final.group(2) in ("threshold", "max_iterations")
    assert int(final.group(1)) >= int(best.group(1))
    image = Image.open(best.group(2))
    assert image.size == (1024, 1024) and image.format == "PNG"
    run_dir = Path(best.group(2)).parent.parent
    journal = json.loads((run_dir / "run.json").read_text())
    photo = tmp_path / "examples" / "ring.jpg"
    assert journal["config"]["refs"] == [f"<{photo.stat().st_size} bytes>"]
    assert (run_dir / "references" / "ref-01.jpg").read_bytes() == photo.read_bytes()
    # A stream of events.
    saved = re.findall(r"^saved #(\d+): (.+)$", out, re.M)
    assert [int(n) for n, _ in saved][:2] == [1, 2] and all(Path(p).is_file() for _, p in saved)
    assert re.search(r"^scored #1: \d+$", out, re.M)
    assert re.search(r"^max_iterations: best \d+$", out, re.M)
    # Your own components: brighter each round.
    assert "[50, 75, 100] threshold" in out
    # A timeout, then a resume.
    timed_out = re.search(r"^timed out; resuming (.+)$", out, re.M)
    assert timed_out is not None
    assert re.search(r"^done: (threshold|max_iterations|plateau), \d+ images$", out, re.M)
    resumed = json.loads(
        (tmp_path / "runs" / "timeouts" / timed_out.group(1) / "run.json").read_text()
    )
    assert resumed["status"] == "completed"
    # A reviewer.
    reviewed = re.search(r"^(accepted|max_iterations|plateau) \[(.+)\]$", out, re.M)
    assert reviewed is not None and "'owner')" in reviewed.group(2)


class PricedGenerator(CountingGenerator):
    """Costs 0.25 USD an image, recorded in the run's own ledger; remembers the session's
    shared client it was given."""

    def __init__(self, context: ProviderContext, tracker: Tracker, clients: list[object]) -> None:
        super().__init__(tracker)
        self.ledger = context.ledger
        self.context = context
        self.clients = clients

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        self.clients.append(await self.context.resources.shared("client", _make_client))
        self.ledger.record(CallRecord(action="generate", cost_usd=0.25))
        await asyncio.sleep(0.01)  # let the other run interleave
        return await super().generate_image(request)


async def _make_client() -> object:
    return object()


async def test_two_runs_at_once_keep_their_own_budgets_and_ledgers(tmp_path: Path) -> None:
    tracker, clients = Tracker(), []
    base = with_scripted(RunConfig(prompt="ring", out_dir=tmp_path, max_iterations=10))
    session = scripted_session(  # each run gets providers of its own, built from its context
        FromContext(lambda context: PricedGenerator(context, tracker, clients)),
        FromContext(lambda context: ScriptedEvaluator(tracker, [1] * 20)),
        FromContext(lambda context: EchoPrompter()),
    )
    async with session:
        cheap, rich = await asyncio.gather(
            session.run(base.model_copy(update={"max_cost": 0.5})),
            session.run(base.model_copy(update={"max_cost": 1.0})),
        )
    assert (cheap.stop_reason, rich.stop_reason) == ("budget", "budget")
    assert [len(cheap.iterations), len(rich.iterations)] == [2, 4]
    assert sum(r.cost_usd for r in cheap.usage) == pytest.approx(0.5)
    assert sum(r.cost_usd for r in rich.usage) == pytest.approx(1.0)
    assert len(cheap.usage) == 2 and len(rich.usage) == 4  # each run's own records only
    assert cheap.run_dir != rich.run_dir
    assert len({id(client) for client in clients}) == 1  # the session's one shared client


PLUGIN = '''
"""acme: a third-party provider, installed beside the tool, unknown to its code."""
import io
from PIL import Image, ImageDraw
from agentic_image_gen.core.types import Evaluation, GeneratedImage
from agentic_image_gen.providers.base import Component, ProviderSpec
from pydantic import BaseModel


class AcmeOptions(BaseModel):
    colour: str = "gold"


class Painter:
    def __init__(self, colour):
        self.colour = colour

    @classmethod
    async def create(cls, context):
        return cls(context.options.colour)

    async def generate_image(self, request):
        image = Image.new("RGB", (256, 256), "white")
        ImageDraw.Draw(image).ellipse((64, 64, 192, 192), outline=self.colour, width=12)
        out = io.BytesIO()
        image.save(out, "PNG")
        turn = 1 if request.context is None else int(request.context) + 1
        return GeneratedImage(out.getvalue(), request.settings.output_format, 256, 256,
                              context=str(turn))


class Judge:
    @classmethod
    async def create(cls, context):
        return cls()

    async def evaluate_image(self, request):
        score = 40 + 30 * request.prompt.count("+")
        return Evaluation(score=min(score, 100), feedback=f"acme judged {score}",
                          fixes=["more shine"])


class Writer:
    conversation_id = None

    @classmethod
    async def create(cls, context):
        return cls()

    async def generate_prompt(self, original_prompt, history):
        return history[-1].prompt + " +"


PROVIDER = ProviderSpec(
    name="acme",
    summary="Acme image lab",
    components=(
        Component("generator", "acme-paint", "acme_provider:Painter"),
        Component("evaluator", "acme-judge", "acme_provider:Judge"),
        Component("prompter", "acme-write", "acme_provider:Writer"),
    ),
    defaults={"generator": "acme-paint", "evaluator": "acme-judge", "prompter": "acme-write"},
    options=AcmeOptions,
    env={"colour": "ACME_COLOUR"},
    needs=("nothing at all",),
)
'''


def install_plugin(site: Path) -> None:
    """What `pip install acme-provider` leaves on disk: a module and its dist-info."""
    (site / "acme_provider.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "acme_provider-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-provider\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[agentic_image_gen.providers]\nacme = acme_provider:PROVIDER\n"
    )


def run_tool(args: Sequence[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = offline_env()
    env["PYTHONPATH"] = os.pathsep.join((str(site), env["PYTHONPATH"]))
    env["ACME_COLOUR"] = "red"
    return subprocess.run(
        [sys.executable, "-m", "agentic_image_gen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_third_party_provider_plugs_in_by_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    listed = run_tool(["providers", "--json"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    acme = next(p for p in json.loads(listed.stdout) if p["name"] == "acme")
    assert acme["roles"] == {
        "generator": ["acme-paint"],
        "evaluator": ["acme-judge"],
        "prompter": ["acme-write"],
    }
    assert acme["usable"] is True and acme["options"] == {"colour": "red"}

    done = run_tool(
        [
            "a gold hoop",
            "--provider",
            "acme",
            "--max-iterations",
            "3",
            "--threshold",
            "95",
            "--background",
            "opaque",
            "--out",
            "runs",
            "--quiet",
        ],
        site,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["score_history"] == [40, 70, 100]
    assert output["prompt_history"][-1] == "a gold hoop + +"
    assert output["response_ids"] == ["1", "2", "3"]
    pixels = Image.open(output["best_image_url"]).convert("RGB")
    assert pixels.getpixel((128, 64)) == (255, 0, 0)  # the option from ACME_COLOUR
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["config"]["providers"]["generator"] == "acme-paint"
    assert journal["config"]["provider_options"] == {"acme": {"colour": "red"}}


def test_a_broken_plugin_is_reported_not_fatal(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    info = site / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[agentic_image_gen.providers]\nbroken = no_such_module:PROVIDER\n"
    )
    listed = run_tool(["providers"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "broken  (not usable: broken plugin: ModuleNotFoundError" in listed.stdout
    assert "local  (usable)" in listed.stdout


def test_a_plugin_that_exits_at_import_is_named_and_the_rest_goes_on(tmp_path: Path) -> None:
    """A plugin whose import calls sys.exit no longer ends every command with its message;
    asking for it by name says it is installed but broken."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "quitter.py").write_text("import sys\nsys.exit('quitter: no licence file')\n")
    info = site / "quitter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quitter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[agentic_image_gen.providers]\nquitter = quitter:PROVIDER\n"
    )
    listed = run_tool(["providers"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "quitter  (not usable: broken plugin: SystemExit: quitter: no licence file" in (
        listed.stdout
    )
    assert "local  (usable)" in listed.stdout
    asked = run_tool(
        ["a ring", "--provider", "quitter", "--out", "runs", "--quiet"], site, tmp_path
    )
    assert asked.returncode == 2 and asked.stdout == ""
    assert asked.stderr == (
        "agentic-image-gen: error: --provider 'quitter' is installed but broken: "
        "SystemExit: quitter: no licence file\n"
    )

