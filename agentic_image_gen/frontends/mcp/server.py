"""The MCP server: tools over the one Session (through the RunBook), files as resources.

The tools hold no loop logic: they turn arguments into a RunConfig, start or find a run,
forward its events as progress notifications while they wait, and answer with the run's
output. Tool names and arguments are the contract agents are written against.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.events import Event
from agentic_image_gen.core.review import ReviewDecision
from agentic_image_gen.core.version import __version__
from agentic_image_gen.frontends.mcp.arguments import (
    GenerateArguments,
    ListArguments,
    NoArguments,
    ResumeArguments,
    ReviewArguments,
    RunArguments,
    RunId,
    WaitArguments,
    config_of,
)
from agentic_image_gen.frontends.mcp.elicit import (
    answer_of,
    ask,
    can_ask,
    can_ask_by_reply,
    question,
)
from agentic_image_gen.frontends.mcp.notices import notice
from agentic_image_gen.frontends.mcp.replies import (
    SCHEME,
    Links,
    RunHandle,
    RunList,
    RunRow,
    ToolRun,
    run_reply,
)
from agentic_image_gen.frontends.mcp.runbook import RunBook, Tracked, Watch
from agentic_image_gen.frontends.mcp.tooling import Answer, Body, one_line, tool_function
from agentic_image_gen.frontends.profiles_command import profile_rows

INSTRUCTIONS = (
    "Makes product images with an agentic loop: generate, score against the request, refine "
    "the prompt, repeat. generate_image runs it and waits up to wait_s seconds; a longer run "
    "answers with its run_id: call wait_run(run_id) until it is completed. Results carry a "
    "small preview and resource links to the full-size files. With review set, a run may wait "
    "for a person: answer with review_run."
)
Reply = Answer
_SLOW = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
_READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class ProfileList(BaseModel):
    profiles: list[dict[str, Any]]


class Tools:
    """The tools' bodies, over one RunBook."""

    def __init__(self, book: RunBook, links: Links) -> None:
        self.book = book
        self.links = links

    async def generate_image(self, args: GenerateArguments, ctx: Context[Any, Any]) -> Reply:
        if ctx.request_state is not None:
            return await self._answered(ctx.request_state, args.wait_s, ctx)
        watch: Watch = asyncio.Queue()
        begun = time.monotonic()
        tracked = await self.book.start(config_of(args, self.book.policy), watch)
        return await self._waited(tracked, args.wait_s - (time.monotonic() - begun), ctx, watch)

    async def start_run(self, args: RunArguments, ctx: Context[Any, Any]) -> Reply:
        tracked = await self.book.start(config_of(args, self.book.policy))
        status = self.book.output(tracked, tracked.run_dir).status
        handle = RunHandle(run_id=tracked.run_id, status=status, run_dir=str(tracked.run_dir))
        text = (f"run {tracked.run_id} started ({status}); wait_run(run_id="
                f"{tracked.run_id!r}) waits for it.")
        return _plain(text, handle)

    async def wait_run(self, args: WaitArguments, ctx: Context[Any, Any]) -> Reply:
        if ctx.request_state is not None:
            return await self._answered(ctx.request_state, args.wait_s, ctx)
        tracked, _ = self.book.find(args.run_id)
        if tracked is None:  # a folder under --out: what it holds is all there is
            return await self.get_run(args, ctx)
        return await self._waited(tracked, args.wait_s, ctx)

    async def get_run(self, args: RunId, ctx: Context[Any, Any]) -> Reply:
        tracked, run_dir = self.book.find(args.run_id)
        output = self.book.output(tracked, run_dir)
        note = ""
        if (tracked is None or not tracked.running) and output.status in ("running", "waiting"):
            note = "It is not running in this server: resume_run continues it."
        return await run_reply(self.links, args.run_id, output, self.book.pending(tracked),
                               note=note)

    async def cancel_run(self, args: RunId, ctx: Context[Any, Any]) -> Reply:
        tracked, run_dir = self.book.find(args.run_id)
        note = "It was not running here."
        if tracked is not None and tracked.running:
            await self.book.cancel(tracked)
            note = "Cancelled: resume_run continues it."
        return await run_reply(self.links, args.run_id, self.book.output(tracked, run_dir),
                               note=note)

    async def resume_run(self, args: ResumeArguments, ctx: Context[Any, Any]) -> Reply:
        if ctx.request_state is not None:
            return await self._answered(ctx.request_state, args.wait_s, ctx)
        watch: Watch = asyncio.Queue()
        begun = time.monotonic()
        tracked = await self.book.resume(args.run_id, args.limits(), watch)
        return await self._waited(tracked, args.wait_s - (time.monotonic() - begun), ctx, watch)

    async def review_run(self, args: ReviewArguments, ctx: Context[Any, Any]) -> Reply:
        if ctx.request_state is not None:
            return await self._answered(ctx.request_state, args.wait_s, ctx)
        tracked, _ = self.book.find(args.run_id)
        try:
            decision = ReviewDecision(
                pick=args.pick, notes=args.notes or "", prompt=args.prompt or None,
                accept=args.accept, retry=args.retry, by="mcp",
            )
        except ValidationError as error:
            raise InputError(one_line(error)) from error
        self.book.decide(tracked, decision)
        assert tracked is not None
        return await self._waited(tracked, args.wait_s, ctx)

    async def list_runs(self, args: ListArguments, ctx: Context[Any, Any]) -> Reply:
        rows, skipped = self.book.list(args.limit)
        listed = RunList(
            runs=[RunRow(**summary.model_dump(), run_id=run_id) for run_id, summary in rows],
            skipped=skipped,
        )
        lines = [f"{row.run_id}  {row.status}  best {row.best_score}  {row.prompt[:60]}"
                 for row in listed.runs]
        return _plain("\n".join(lines) or "no runs yet", listed)

    async def list_profiles(self, args: NoArguments, ctx: Context[Any, Any]) -> Reply:
        profiles = ProfileList(profiles=profile_rows())
        names = ", ".join(str(row["name"]) for row in profiles.profiles)
        return _plain(f"marketplace profiles: {names}", profiles)

    async def _answered(self, run_id: str, wait_s: float, ctx: Context[Any, Any]) -> Reply:
        """The call made again with the user's answer to ``question``: the answer goes to the
        run, and the call waits on as the first one did."""
        tracked, _ = self.book.find(run_id)
        if tracked is None:
            raise InputError(f"run {run_id} is not running in this server")
        request = self.book.pending(tracked)
        if request is not None and request in tracked.asked:
            decision = answer_of(ctx, request)
            if decision is not None:
                with contextlib.suppress(InputError):  # it stopped waiting meanwhile
                    self.book.decide(tracked, decision)
        return await self._waited(tracked, wait_s, ctx)

    async def _waited(
        self, tracked: Tracked, seconds: float, ctx: Context[Any, Any], watch: Watch | None = None
    ) -> Reply:
        """Wait for the run (progress meanwhile); a review asked of the user where the client
        can be asked; the run's state as the answer."""
        deadline = time.monotonic() + max(0.0, seconds)
        sent = 0

        async def tell(event: Event) -> None:
            nonlocal sent
            line = notice(event, tracked.run_id, tracked.max_rounds, tracked.candidates)
            if line is not None:
                sent += 1
                await ctx.report_progress(sent, None, line)

        while True:
            await self.book.wait(tracked, deadline - time.monotonic(), tell, watch)
            request = self.book.pending(tracked)
            if request is None or request in tracked.asked:
                break
            if not can_ask(ctx):
                if not can_ask_by_reply(ctx):
                    break
                tracked.asked.add(request)
                return question(request, tracked.run_id)
            tracked.asked.add(request)
            decision = await ask(ctx, request, tracked.run_id)
            if decision is None:
                break
            with contextlib.suppress(InputError):  # it stopped waiting while the user chose
                self.book.decide(tracked, decision)
            watch = None
        output = self.book.output(tracked, tracked.run_dir)
        return await run_reply(self.links, tracked.run_id, output, self.book.pending(tracked))



def _plain(text: str, structured: BaseModel) -> CallToolResult:
    data = structured.model_dump(mode="json")
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


# name, arguments, output, what it does (the description agents read), annotations
TOOLS: tuple[tuple[str, type[BaseModel], type[BaseModel], str, ToolAnnotations], ...] = (
    ("generate_image", GenerateArguments, ToolRun,
     "Make a product image: generate, score, refine until the threshold or the round cap. "
     "Reports progress; answers with the result (a preview, links to the full files, the "
     "output JSON) when the run ends within wait_s, else with its run_id: go on with wait_run.",
     _SLOW),
    ("start_run", RunArguments, RunHandle,
     "Start a run and answer at once with its run_id and status (wait_run waits for it).",
     _SLOW),
    ("wait_run", WaitArguments, ToolRun,
     "Wait up to wait_s for a run to end or to ask for a review (progress meanwhile); "
     "answers with its state, and its result once finished.", _READS),
    ("get_run", RunId, ToolRun,
     "A run's status now and, when finished, its result (no waiting).", _READS),
    ("cancel_run", RunId, ToolRun,
     "Stop a running run; it is kept as interrupted and resume_run continues it.",
     ToolAnnotations(destructive_hint=False, idempotent_hint=True)),
    ("resume_run", ResumeArguments, ToolRun,
     "Continue a stopped run from its folder, with its own settings; only limits may change "
     "(max_iterations, threshold, patience, max_cost, timeout, retries). Waits as "
     "generate_image does.", _SLOW),
    ("review_run", ReviewArguments, ToolRun,
     "Answer the review a run waits for: pick an image (its iteration number; none: the "
     "evaluator's pick), notes for the prompter, your own next prompt, accept to stop with "
     "it, or retry when none is good. Then waits as wait_run does.", _SLOW),
    ("list_runs", ListArguments, RunList,
     "Runs under the server's --out and runs it started elsewhere, newest first.", _READS),
    ("list_profiles", NoArguments, ProfileList,
     "Marketplace profiles (amazon, etsy, ...) and their rules, for the profile argument.",
     _READS),
)


def build_server(book: RunBook) -> MCPServer[Any]:
    """The server, its tools bound to ``book`` and run files served as resources."""
    server: MCPServer[Any] = MCPServer(
        "agentic-image-gen", version=__version__, instructions=INSTRUCTIONS,
        warn_on_duplicate_resources=False, log_level="WARNING",
    )
    links = Links(server)
    tools = Tools(book, links)
    for name, model, output, description, hints in TOOLS:
        body: Body[Any] = getattr(tools, name)
        server.add_tool(tool_function(name, model, output, body), name=name,
                        description=description, annotations=hints)

    @server.resource(f"{SCHEME}://runs/{{run_id}}/{{+path}}", name="run-file",
                     mime_type="application/octet-stream",
                     description="a file inside a run's folder (images, delivery, report)")
    async def run_file(run_id: str, path: str) -> bytes:
        try:
            _, run_dir = book.find(run_id)
        except InputError as exc:
            raise ResourceError(str(exc)) from exc
        file = (run_dir / path).resolve()
        if not file.is_relative_to(run_dir.resolve()) or not file.is_file():
            raise ResourceError(f"no file {path!r} in run {run_id}")
        return await asyncio.to_thread(Path.read_bytes, file)

    return server
