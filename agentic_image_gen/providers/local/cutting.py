"""The local provider's segmentation for every run: the session's segmenter pool (each model
loads once per session) and the run's chosen segmenter, behind the engine's ProductCutter."""

from __future__ import annotations

from typing import Any

from agentic_image_gen.core.errors import ConfigurationError
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.providers.base import ProductCut, ProviderContext
from agentic_image_gen.providers.local.alone import product_alone
from agentic_image_gen.providers.local.cutout import cutout_for
from agentic_image_gen.providers.local.segment.registry import (
    NAME_KEY,
    POOL_KEY,
    SegmenterPool,
    available,
    segmenter_name,
)


async def prepare_cutting(context: ProviderContext) -> dict[str, Any]:
    """The run's cache, holding the session's pool and the run's segmenter name (validated:
    an unknown name is one line before anything runs)."""
    cache = context.run_cache
    if POOL_KEY not in cache:

        async def make() -> SegmenterPool:
            return SegmenterPool()

        cache[POOL_KEY] = await context.resources.shared(POOL_KEY, make)
    if NAME_KEY not in cache:
        cache[NAME_KEY] = segmenter_name(context.config.segmenter)
    return cache


class LocalCutter:
    """Cut-outs for the engine and other providers, shared with the studio's own (one cut
    per reference per run). ``segmenter`` is the concrete name the run journals."""

    def __init__(self, cache: dict[str, Any], segmenter: str) -> None:
        self._cache = cache
        self.segmenter = segmenter

    async def cut(self, reference: ReferenceImage, *, alone: bool = False) -> ProductCut:
        made = product_alone if alone else cutout_for
        cut = await made(reference, self._cache)
        return ProductCut(cut.rgb, cut.alpha, cut.segmenter, cut.origin)


async def create_cutter(context: ProviderContext, name: str | None) -> LocalCutter:
    """The run's cutter; ``auto`` resolved to what is available now. A resumed run keeps the
    segmenter it was cut with, or stops: its locked product and measures must not change."""
    cache = await prepare_cutting(context)
    pool: SegmenterPool = cache[POOL_KEY]
    concrete = pool.resolve(segmenter_name(name or context.config.segmenter))
    if context.resuming and not available(concrete, pool.store):
        raise ConfigurationError(
            f"this run was cut by the {concrete!r} segmenter, which is not installed or cached "
            f"here: run 'agentic-image-gen models fetch {concrete}' (or install it), then resume"
        )
    cache[NAME_KEY] = concrete
    return LocalCutter(cache, concrete)
