"""The product's mask, by a segmenter chosen by name (see registry.py for the names)."""

from agentic_image_gen.providers.local.segment.base import Segmenter
from agentic_image_gen.providers.local.segment.models import HubModel, ModelStore, fetch_models
from agentic_image_gen.providers.local.segment.registry import (
    NAMES,
    SegmenterPool,
    pool_for,
    segmenter_name,
)

__all__ = [
    "NAMES",
    "HubModel",
    "ModelStore",
    "Segmenter",
    "SegmenterPool",
    "fetch_models",
    "pool_for",
    "segmenter_name",
]
