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
    from helpers import TEST_KEY

    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    for name in ("AIG_MODEL", "AIG_IMAGE_MODEL", "AIG_EVALUATOR_MODEL", "AIG_PROMPTER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return fake_openai


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray cluster for the whole test session (Ray's local mode is gone)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()
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
