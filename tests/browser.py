"""Headless Chromium for tests: Debian's chromium driven by Playwright (no downloaded browser).

CI installs both (``apt-get install chromium``, ``pip install playwright``); elsewhere the
browser tests skip, saying which of the two is missing.

One browser serves a whole test session (``SharedBrowser``): Playwright's async API on a thread
of its own, used from plain test code through proxies that wait for each call. Playwright's
sync API would keep its event loop marked as running in the test thread for as long as the
browser lives, and every ``asyncio.run`` of the tests (the CLI's, pytest-asyncio's) would fail.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Where Chromium is: $AIG_CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for candidate in (os.environ.get("AIG_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium)"
    return None


@contextmanager
def launched() -> Iterator[Any]:
    """A headless Chromium (a Playwright Browser), closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()



@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh page in a Chromium of its own (scripts; tests share ``SharedBrowser``)."""
    with launched() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        yield page

CALL_TIMEOUT = 120  # seconds: one browser call, however slow the machine
EXPECT_TIMEOUT = 20_000  # ms an ``expect`` waits: runs take their time on a loaded machine


class SharedBrowser:
    """A Chromium (Playwright's async API) on its own thread and event loop."""

    def __init__(self) -> None:
        from playwright.async_api import async_playwright, expect

        expect.set_options(timeout=EXPECT_TIMEOUT)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chromium", daemon=True)
        self.thread.start()
        self.playwright = self.run(async_playwright().start())
        self.browser = self.run(
            self.playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
            )
        )

    def run(self, awaitable: Awaitable[Any]) -> Any:
        """``awaitable`` run on the browser's thread; its result, waited for here."""

        async def awaited() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(awaited(), self.loop).result(CALL_TIMEOUT)

    @contextmanager
    def page(self, width: int = 1280, height: int = 900) -> Iterator[Any]:
        """A fresh page with cookies of its own, closed on leaving."""
        context = self.run(self.browser.new_context(viewport={"width": width, "height": height}))
        try:
            yield Remote(self.run(context.new_page()), self)
        finally:
            self.run(context.close())

    def close(self) -> None:
        try:
            self.run(self.browser.close())
            self.run(self.playwright.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)


class Remote:
    """A Playwright object seen from the test thread: each call runs on the browser's thread,
    awaited there; results that are Playwright objects come back as Remotes too."""

    def __init__(self, target: Any, owner: SharedBrowser) -> None:
        self._target = target
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return _wrap(value, self._owner)

        def call(*args: Any, **kwargs: Any) -> Any:
            async def on_the_browser_thread() -> Any:  # also sync calls: some start tasks
                result = value(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kwargs.items()})
                return await result if inspect.isawaitable(result) else result

            return _wrap(self._owner.run(on_the_browser_thread()), self._owner)

        return call

    def __repr__(self) -> str:
        return f"Remote({self._target!r})"


def _wrap(value: Any, owner: SharedBrowser) -> Any:
    return Remote(value, owner) if type(value).__module__.startswith("playwright.") else value


def _unwrap(value: Any) -> Any:
    return value._target if isinstance(value, Remote) else value


def expect(target: Remote) -> Remote:
    """Playwright's ``expect`` for a Remote locator or page (its waits run on the browser's
    thread)."""
    from playwright.async_api import expect as async_expect

    async def made() -> Any:
        return async_expect(target._target)

    return Remote(target._owner.run(made()), target._owner)
