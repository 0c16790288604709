"""A run's folder and references before the first provider call: a new folder holds the
references (and a complete journal) at once; a resumed one gives back the copies it kept."""

from __future__ import annotations

import asyncio

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.inputs import references as reference_loader
from agentic_image_gen.store.run_store import RunStore


async def open_folder(
    config: RunConfig, store: RunStore | None
) -> tuple[RunStore, tuple[ReferenceImage, ...]]:
    if store is None:
        references = tuple(
            await reference_loader.load_all(config.refs, allow_private=config.allow_private_urls)
        )
        # The journal is complete (references saved and named) before any provider call: a
        # run killed now still resumes with its photos.
        store = await asyncio.to_thread(
            RunStore.create, config.out_dir, config.prompt, config, references
        )
        return store, references
    store.journal.config = config  # e.g. a raised --max-iterations
    # The copies in the run folder, exactly as they were sent the first time.
    stored = [reference.path for reference in store.journal.references]
    return store, tuple(await reference_loader.load_all(stored))
