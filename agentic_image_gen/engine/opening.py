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
    if store is not None and (store.journal.references or store.journal.result.iterations):
        store.journal.config = config  # e.g. a raised --max-iterations
        # The copies in the run folder, exactly as they were sent the first time.
        stored = [reference.path for reference in store.journal.references]
        return store, tuple(await reference_loader.load_all(stored))
    # A new run; or one killed between its first journal and its copies (nothing was sent
    # yet): its references are read now.
    references = tuple(
        await reference_loader.load_all(config.refs, allow_private=config.allow_private_urls)
    )
    if store is None:
        store = await asyncio.to_thread(RunStore.create, config.out_dir, config.prompt, config)
    store.journal.config = config
    for number, reference in enumerate(references, start=1):
        await asyncio.to_thread(store.save_reference, number, reference)
    # Complete before any provider call: a run killed now still resumes with its photos.
    snapshot = store.snapshot(store.journal.result)
    await asyncio.to_thread(store.write_snapshot, snapshot)
    return store, references
