"""A saliency model run by onnxruntime: U²-Netp, IS-Net or BiRefNet, one code path.

Pre- and post-processing follow rembg, which these weights were exported for: resize to the
model's square side, scale by the image's maximum, normalise per channel, NCHW float32; the
first output's first channel, through a sigmoid when the model emits logits, min-max
stretched, resized back to the photo. A GPU execution provider is used when onnxruntime
offers one; the CPU one is always last so a session always starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.core.errors import ConfigurationError
from agentic_image_gen.pixels.arrays import FloatImage, f32

GPU_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


FINE_SIDE = 1024  # a model working at this side or more gives a fine map (IS-Net, BiRefNet)


@dataclass(frozen=True)
class ModelFormat:
    """How a model wants its input and gives its output."""

    side: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    logits: bool = False  # True: the output needs a sigmoid (BiRefNet)


def execution_providers(available: Sequence[str]) -> list[str]:
    """The GPU providers onnxruntime offers here, in our order of preference, then the CPU."""
    return [name for name in GPU_PROVIDERS if name in available] + ["CPUExecutionProvider"]


def preprocess(rgb: FloatImage, fmt: ModelFormat) -> NDArray[np.float32]:
    """1 x 3 x side x side, normalised as the model was trained."""
    side = fmt.side
    method = cv2.INTER_AREA if max(rgb.shape[:2]) > side else cv2.INTER_CUBIC
    small = f32(cv2.resize(rgb, (side, side), interpolation=method))
    small = f32(small / max(float(small.max()), 1e-6))
    normal = (small - np.array(fmt.mean, np.float32)) / np.array(fmt.std, np.float32)
    return np.ascontiguousarray(normal.transpose(2, 0, 1)[None], dtype=np.float32)


def postprocess(raw: NDArray[Any], fmt: ModelFormat, size: tuple[int, int]) -> FloatImage:
    """The model's map at ``size`` (width, height), stretched to [0, 1]."""
    pred = np.asarray(raw, np.float32)[0, 0]
    if fmt.logits:
        pred = 1.0 / (1.0 + np.exp(-pred))
    low, high = float(pred.min()), float(pred.max())
    pred = (pred - low) / (high - low) if high - low > 1e-6 else np.zeros_like(pred)
    return f32(np.clip(cv2.resize(pred, size, interpolation=cv2.INTER_LINEAR), 0.0, 1.0))


class OnnxSegmenter:
    """One loaded model; ``segment`` is safe to call from several threads at once."""

    def __init__(self, name: str, path: Path, fmt: ModelFormat) -> None:
        import onnxruntime as ort  # heavy: imported only when a model is really loaded

        options = ort.SessionOptions()
        # Idle worker threads would spin for a while after each run, taking the CPU from the
        # refinement and composition that follow on a small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(path), options, providers=execution_providers(ort.get_available_providers())
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigurationError(
                f"cannot load the {name} segmenter from {path}: {exc}"
            ) from exc
        self._name = name
        self._fmt = fmt
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name

    @property
    def name(self) -> str:
        return self._name

    @property
    def coarse(self) -> bool:
        return self._fmt.side < FINE_SIDE

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def segment(self, rgb: FloatImage) -> FloatImage:
        raw = self._session.run([self._output], {self._input: preprocess(rgb, self._fmt)})[0]
        return postprocess(raw, self._fmt, (rgb.shape[1], rgb.shape[0]))
