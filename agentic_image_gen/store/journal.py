"""run.json: its schema, its versions, and paths kept relative to the run folder.

On disk every path inside the run folder is relative to it (version 2), so a folder that is
moved or copied still shows, reports and resumes from where it now is. In memory the paths are
absolute, under the folder the journal was opened from: the stdout JSON promises absolute
paths, and nothing outside this module needs to know about the conversion.

Reading is defensive: a journal is a file anyone can edit, so every way it can be wrong (bad
JSON, invalid UTF-8, wrong types, absurd numbers, a newer version) is one InputError line.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel, ValidationError, field_serializer, field_validator

from agentic_image_gen.core.config import RunConfig, public_dump
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.output import RunStatus
from agentic_image_gen.core.result import RunResult

JOURNAL_NAME = "run.json"
# 1: absolute paths. 2: paths inside the run folder relative to it (read: 1 and 2).
JOURNAL_VERSION = 2
# No image the tool makes or takes is larger than this on either side.
MAX_IMAGE_SIDE = 16384


class StoredReference(BaseModel):
    source: str
    path: str
    width: int
    height: int


class RunJournal(BaseModel):
    """run.json: enough to rebuild every view of the run, and to resume it."""

    version: int = JOURNAL_VERSION
    status: RunStatus = "running"
    created_at: str
    updated_at: str
    config: RunConfig
    references: list[StoredReference] = []
    result: RunResult

    @field_validator("config", mode="before")
    @classmethod
    def _config_v1(cls, config: Any) -> Any:
        """Before providers were plugins, the OpenAI model names were a field of their own."""
        if isinstance(config, dict) and isinstance(config.get("models"), dict):
            config = dict(config)
            models = config.pop("models")
            config.setdefault("provider_options", {}).setdefault("openai", models)
        return config

    @field_serializer("config")
    def _config_without_secrets(self, config: RunConfig) -> dict[str, Any]:
        return public_dump(config)


class JournalTooNew(InputError):
    """run.json was written by a newer agentic-image-gen: reading it could lose what this
    version does not know, and rewriting it would destroy it, so it is left alone."""


def _inside(path: str, run_dir: Path) -> str:
    """``path`` relative to ``run_dir`` when it lies inside it; otherwise unchanged."""
    candidate = PurePath(path)
    if not candidate.is_absolute():
        return path
    try:
        return candidate.relative_to(run_dir).as_posix()
    except ValueError:
        return path


def for_disk(journal: RunJournal, run_dir: Path) -> RunJournal:
    """A copy of ``journal`` with the folder's own paths relative (the in-memory one is kept)."""
    result = journal.result
    iterations = [
        it.model_copy(update={"image_path": _inside(it.image_path, run_dir)})
        for it in result.iterations
    ]
    references = [
        ref.model_copy(update={"path": _inside(ref.path, run_dir)}) for ref in journal.references
    ]
    delivery = result.delivery
    if delivery is not None:
        delivery = delivery.model_copy(update={"path": _inside(delivery.path, run_dir)})
    return journal.model_copy(
        update={
            "version": JOURNAL_VERSION,
            "references": references,
            "result": result.model_copy(
                update={"run_dir": ".", "iterations": iterations, "delivery": delivery}
            ),
        }
    )


def _inside_only(path: str, folders: tuple[str, ...]) -> None:
    """Version 2 names only files inside the folder (relative, or absolute under the folder
    where it is or the one it names as its own): a journal that points elsewhere (an edited or
    shared one naming ``../../.ssh/id_rsa``) must not make a report embed, or a resume send,
    a file from outside it."""
    candidate = PurePath(path)
    for folder in folders:
        if candidate.is_absolute() and PurePath(folder).is_absolute():
            with contextlib.suppress(ValueError):
                candidate = candidate.relative_to(folder)
    if candidate.is_absolute() or ".." in candidate.parts or not candidate.parts:
        raise ValueError(f"the path {path!r} is not inside the run folder")


def _located(path: str, run_dir: Path, stored_dir: str) -> str:
    """An on-disk path as an absolute path under the folder's current location.

    Version 1 kept absolute paths: those under the folder it was written in (``stored_dir``)
    are re-rooted here, so a copy reads its own files, not the original's; any other absolute
    path that no longer exists is tried as ``<run_dir>/<its last two parts>``.
    """
    candidate = Path(path)
    if not candidate.is_absolute():
        return str(run_dir / candidate)
    if stored_dir and PurePath(stored_dir).is_absolute():
        try:
            return str(run_dir / candidate.relative_to(stored_dir))
        except ValueError:
            pass
    if not candidate.exists() and len(candidate.parts) >= 3:
        moved = run_dir.joinpath(*candidate.parts[-2:])
        if moved.exists():
            return str(moved)
    return path


def _check_side(what: str, width: int, height: int, limit: tuple[int, int] | None) -> None:
    """Sides in 1..MAX_IMAGE_SIDE and, when the run asked for a size, neither side longer than
    its longer side: a provider may turn portrait into landscape (or an EXIF tag may), but an
    8000 px side in a 1024x1024 run is an edited journal, not an image."""
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise ValueError(f"{what} is {width}x{height} px (each side must be 1-{MAX_IMAGE_SIDE})")
    if limit is not None and max(width, height) > max(limit):
        size = f"{limit[0]}x{limit[1]}"
        raise ValueError(f"{what} is {width}x{height} px, larger than the run's size {size}")


def _checked(journal: RunJournal) -> None:
    """What the models do not check: sizes against each other (the config itself was
    validated as a RunConfig, by today's rules: a stored 8000x8000 is refused)."""
    limit = journal.config.image.dimensions
    for it in journal.result.iterations:
        _check_side(f"image {it.index}", it.width, it.height, limit)
    for number, ref in enumerate(journal.references, start=1):
        _check_side(f"reference {number}", ref.width, ref.height, None)


def parse_journal(data: bytes, run_dir: Path) -> RunJournal:
    """Bytes of a run.json, read as the journal of the folder at ``run_dir`` (absolute paths
    under it). Raises JournalTooNew, or ValueError saying what is wrong."""
    raw = json.loads(data.decode("utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    version = raw.get("version", 1)
    if type(version) is not int:
        raise ValueError(f"version {version!r} is not a number")
    if version > JOURNAL_VERSION:
        raise JournalTooNew(
            f"{run_dir / JOURNAL_NAME} is journal version {version}, written by a newer "
            f"agentic-image-gen (this one reads up to {JOURNAL_VERSION}); left unchanged"
        )
    journal = RunJournal.model_validate(raw)
    _checked(journal)
    stored_dir = journal.result.run_dir
    if version >= 2:
        delivered = [journal.result.delivery.path] if journal.result.delivery else []
        for path in [it.image_path for it in journal.result.iterations] + [
            ref.path for ref in journal.references
        ] + delivered:
            _inside_only(path, (stored_dir, str(run_dir)))
    journal.result.run_dir = str(run_dir)
    for it in journal.result.iterations:
        it.image_path = _located(it.image_path, run_dir, stored_dir)
    for ref in journal.references:
        ref.path = _located(ref.path, run_dir, stored_dir)
    if journal.result.delivery is not None:
        delivery = journal.result.delivery
        delivery.path = _located(delivery.path, run_dir, stored_dir)
    return journal


def load_journal(run_dir: Path) -> RunJournal:
    """A run folder's journal, or a one-line InputError saying what is wrong with it."""
    path = run_dir / JOURNAL_NAME
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a run folder")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{run_dir} has no {JOURNAL_NAME}: not a run folder") from exc
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    try:
        return parse_journal(data, run_dir.resolve())
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is damaged and cannot be read (not UTF-8)") from exc
    except ValidationError as exc:
        raise InputError(f"{path} is damaged and cannot be read ({_first_problem(exc)})") from exc
    except (ValueError, RecursionError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} is damaged and cannot be read ({exc})") from exc


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "invalid"
    where = ".".join(str(part) for part in errors[0]["loc"])
    return f"{where}: {errors[0]['msg']}" if where else errors[0]["msg"]
