"""A run's folder and references before the first provider call: a new folder holds the
references (and a complete journal) at once; a resumed one gives back the copies it kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.inputs import references as reference_loader
from agentic_image_gen.providers.base import Providers, UsesProduct
from agentic_image_gen.store.run_store import RunStore, check_images


def load_references(config: RunConfig) -> asyncio.Task[tuple[ReferenceImage, ...]]:
    """A new run's references, loading while its components are made (an HTTP client's
    certificates, a model): the two overlap instead of adding up before the first call.
    ``open_folder`` awaits it; whoever starts it cancels it if the run never gets there."""

    async def load() -> tuple[ReferenceImage, ...]:
        loaded = await reference_loader.load_all(
            config.refs, allow_private=config.allow_private_urls
        )
        return tuple(loaded)

    task = asyncio.ensure_future(load())
    task.add_done_callback(_seen)
    return task


def _seen(task: asyncio.Task[tuple[ReferenceImage, ...]]) -> None:
    """A load that failed after its run had already ended is not reported twice."""
    if not task.cancelled():
        task.exception()


async def open_folder(
    config: RunConfig,
    store: RunStore | None,
    providers: Providers | None = None,
    loading: Awaitable[tuple[ReferenceImage, ...]] | None = None,
) -> tuple[RunStore, tuple[ReferenceImage, ...]]:
    """When the run works from the product (a locked product, or a component that uses its
    cut), the first reference is cut before a new folder exists: a photo that shows no usable
    product, or (when the product is painted or pasted into the images) one it cannot be cut
    out of alone, is a bad reference (exit 3), not a half-made run. The cut is the one the
    run makes anyway (one per reference per run). ``loading`` is ``load_references``' task."""
    if store is None:
        references = await (loading or load_references(config))
        cutter = providers.cutter if providers is not None else None
        if cutter is not None and references and _uses_product(config, providers):
            # A product painted or pasted into every image must be cut out by itself.
            await cutter.cut(references[0], alone=_paints_product(config, providers))
        # The journal is complete (references saved and named) before any provider call: a
        # run killed now still resumes with its photos.
        store = await asyncio.to_thread(
            RunStore.create, config.out_dir, config.prompt, config, references
        )
        return store, references
    store.journal.config = config  # e.g. a raised --max-iterations
    await asyncio.to_thread(check_images, store.journal.result.iterations)
    # The copies in the run folder, exactly as they were sent the first time.
    stored = [reference.path for reference in store.journal.references]
    return store, tuple(await reference_loader.load_all(stored))


def _paints_product(config: RunConfig, providers: Providers | None) -> bool:
    """A locked product is pasted into every image; a generator that works from the cut
    paints it into every image (an evaluator or a prompter only measures by it)."""
    generator = providers.generator if providers is not None else None
    return config.lock_product or (
        isinstance(generator, UsesProduct) and generator.uses_product
    )


def _uses_product(config: RunConfig, providers: Providers | None) -> bool:
    roles = (providers.generator, providers.evaluator, providers.prompter) if providers else ()
    return config.lock_product or any(
        isinstance(role, UsesProduct) and role.uses_product for role in roles
    )
