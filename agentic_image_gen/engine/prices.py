"""The run's price table: every provider's own, with the user's ``--prices FILE`` over them."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.usage import PriceTable


def load_prices(base: PriceTable, path: Path | None) -> PriceTable:
    if path is None:
        return base
    try:
        override = PriceTable.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise InputError(
            f"--prices {path}: not a readable price table ({type(exc).__name__})"
        ) from exc
    return base.merged(override)
