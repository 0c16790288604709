from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# =================================================================================================
# Fake OpenAI API (tests/fakes): spec validator + loopback server
# =================================================================================================
# `tests/` is put on sys.path so that `fakes` imports the same way under any pytest import mode.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes import FakeOpenAIServer, OpenAPIValidator  # noqa: E402
from helpers import TEST_KEY, RayCluster  # noqa: E402

# Fixtures started once per worker that must stay one per test run: every test using one of
# them goes to the same pytest-xdist worker (``--dist loadgroup``).
_ONE_PER_RUN = {"ray_cluster": "ray", "chromium": "browser"}
# Module fixtures that take seconds (a finished run, a server): a module's tests that use one
# go to one worker, so it is made once, not once per worker.
_ONE_PER_MODULE = {"delivered_run", "finished", "server", "template"}


def pytest_itemcollected(item: pytest.Item) -> None:
    """Marked as it is collected: pytest-xdist reads the groups in its own
    ``pytest_collection_modifyitems``, which may run before this file's."""
    group = _group(item)
    if group is not None:
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A grouped test that pytest-xdist did not group would start a second cluster or
    browser unnoticed: it fails instead (xdist shows a group as the node id's suffix)."""
    group = _group(item)
    grouping = item.config.getoption("loadgroup", False)
    if grouping and group is not None and not item.nodeid.endswith(f"@{group}"):
        pytest.fail(f"pytest-xdist did not put this test in group {group!r}")


def _group(item: pytest.Item) -> str | None:
    """One group per test: a run-wide fixture's, else its module's when it uses a costly
    module fixture."""
    names = getattr(item, "fixturenames", ())
    for fixture, group in _ONE_PER_RUN.items():
        if fixture in names:
            return group
    if _ONE_PER_MODULE.intersection(names):
        return item.path.stem
    return None


@pytest.fixture(scope="session")
def spec_validator() -> OpenAPIValidator:
    """The OpenAPI validator, loaded once; it may be unavailable (a clone without ../shared)."""
    return OpenAPIValidator()


@pytest.fixture
def openapi_validator(spec_validator: OpenAPIValidator) -> OpenAPIValidator:
    """For tests of the validation itself: skips with the reason when the spec is missing."""
    if not spec_validator.available:
        pytest.skip(spec_validator.unavailable_reason or "OpenAPI spec not found")
    return spec_validator


@pytest.fixture
def fake_openai(spec_validator: OpenAPIValidator) -> Iterator[FakeOpenAIServer]:
    """A running FakeOpenAIServer; fails the test on any spec violation.

    Every request and reply is checked against the OpenAPI spec when it is present; without
    it the loop tests still run (the validation tests skip, saying why). Tests that provoke a
    violation on purpose must consume it with ``server.take_violations()``.
    """
    with FakeOpenAIServer(validator=spec_validator) as server:
        yield server
    if server.violations:
        listing = "\n".join(f"  - {violation}" for violation in server.violations)
        pytest.fail(f"requests/replies that violate the OpenAI OpenAPI spec:\n{listing}")


# =================================================================================================


@pytest.fixture
def openai_env(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    """The fake server as the CLI's OpenAI endpoint, with a test key and no AIG_* overrides."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    for name in ("AIG_MODEL", "AIG_IMAGE_MODEL", "AIG_EVALUATOR_MODEL", "AIG_PROMPTER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return fake_openai


@pytest.fixture(scope="module")
def ray_cluster(
    spec_validator: OpenAPIValidator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayCluster]:
    """One Ray cluster for the test session's Ray tests (one module, on one worker: it stops
    when they end, not idling through the rest of the run), started as a user starts one
    (``ray start --head``, 2 CPUs) and attached to by every Ray test. Its workers read their
    own node's environment, as on a real cluster: here the loopback OpenAI fake and a test key,
    so a catalog on the cluster calls the fake. It asks for a token (Ray's token
    authentication), which this process attaches with, as a user's shell would
    (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``); the user's own ``~/.ray`` is not used."""
    import os
    import re
    import secrets
    import shutil
    import signal
    import subprocess
    import tempfile
    import time

    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    # Its own temporary folder (short: Ray's sockets live there), so the machine's record of
    # its latest cluster (/tmp/ray), which ray.init and "auto" read, is left alone.
    temp = tempfile.mkdtemp(prefix="aig-ray-")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    with (
        FakeOpenAIServer(validator=spec_validator) as fake,
        log.open("w") as sink,
        pytest.MonkeyPatch.context() as patch,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIG_", "RAY_"))}
        env.update(OPENAI_API_KEY=TEST_KEY, OPENAI_BASE_URL=fake.base_url, **auth)
        for name, value in auth.items():
            patch.setenv(name, value)
        patch.delenv("RAY_ADDRESS", raising=False)
        patch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
        # Ray reads its settings as it is imported: after them.
        pytest.importorskip("ray", reason="the ray extra is not installed")
        head = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", "--head", "--port=0",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
             f"--temp-dir={temp}", "--block"],
            stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        try:
            deadline, address = time.monotonic() + 120, None
            while address is None and head.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
                found = re.search(r"ray start --address='([^']+)'", log.read_text())
                address = found.group(1) if found else None
            if address is None:
                pytest.fail(f"ray start --head did not start:\n{log.read_text()[-2000:]}")
            yield RayCluster(address, fake)
        finally:
            import ray

            ray.shutdown()  # this process's connection, if a test left one
            head.send_signal(signal.SIGTERM)  # --block: its cluster's processes end with it
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
            shutil.rmtree(temp, ignore_errors=True)


# =================================================================================================
# One headless Chromium for every browser test of the session (tests/browser.py)
# =================================================================================================
@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The session's browser (tests/browser.py: SharedBrowser); the browser tests skip, saying
    why, where it cannot run."""
    from browser import SharedBrowser, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    browser = SharedBrowser()
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh page (its own cookies) in the session's browser."""
    with chromium.page() as page:
        yield page
