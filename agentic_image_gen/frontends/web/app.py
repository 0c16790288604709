"""The web app: FastAPI with its pages, its JSON API and the app's own static files, behind
the token guard. One Session serves every run for as long as the app lives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from agentic_image_gen.core.version import __version__
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends.web.api import router as api_router
from agentic_image_gen.frontends.web.intake import Refused
from agentic_image_gen.frontends.web.manager import RunManager
from agentic_image_gen.frontends.web.pages import router as pages_router
from agentic_image_gen.frontends.web.security import TokenGuard

HERE = Path(__file__).resolve().parent
ANY_HOST = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class WebSettings:
    out: Path
    token: str
    host: str = "127.0.0.1"
    port: int = 8765
    max_runs: int = 2
    allow_private_urls: bool = False


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers this server answers to (none: any, when bound to every address)."""
    if host in ANY_HOST:
        return set()
    names = {host, "localhost", "127.0.0.1", "[::1]"}
    return {f"[{n}]:{port}" if ":" in n and not n.startswith("[") else f"{n}:{port}" for n in names}


def create_app(settings: WebSettings, ready: Callable[[], None] | None = None) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Session() as session:
            manager = RunManager(
                session, settings.out, settings.max_runs, settings.allow_private_urls
            )
            app.state.manager = manager
            manager.start()
            if ready is not None:
                ready()
            try:
                yield
            finally:
                await manager.close()

    app = FastAPI(
        title="agentic-image-gen",
        version=__version__,
        summary="Watch, steer and approve image runs: the API the web app's pages use.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        found = [
            {"field": ".".join(str(p) for p in item["loc"][1:]) or "body", "message": item["msg"]}
            for item in error.errors()
        ]
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in found)
        return JSONResponse({"detail": detail, "problems": found}, 400)

    hosts = allowed_hosts(settings.host, settings.port)
    return TokenGuard(app, settings.token, settings.port, hosts)
