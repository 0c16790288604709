"""References travel once per run: uploaded to the Files API, then named by file id."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from helpers import input_images, run_cli
from images import ring_photo
from PIL import Image, ImageStat

from agentic_image_gen.providers.openai.uploads import fitting_data_url


def test_four_candidates_and_two_retries_upload_each_reference_once(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refs = [tmp_path / "front.jpg", tmp_path / "side.png"]
    refs[0].write_bytes(ring_photo())
    refs[1].write_bytes(ring_photo(fmt="PNG"))
    openai_env.script_scores([60, 70, 80, 90])
    openai_env.script_faults([{"status": 500, "kind": "generation"}] * 2)
    code, output, err = run_cli(
        capsys, "gold ring", "--refs", *map(str, refs), "--out", str(tmp_path / "runs"),
        "--candidates", "4", "--max-iterations", "1",
    )
    assert code == 0, err
    assert len(openai_env.fault_hits) == 2
    uploads = openai_env.uploads
    assert [data for _id, data in uploads] == [ref.read_bytes() for ref in refs]
    file_ids = [file_id for file_id, _data in uploads]
    # Every generation (retries included), the checklist derivation and every judgement
    # name the same two files; no reference travels as a data URL.
    generations = openai_env.generation_requests()
    assert len(generations) == 6
    named = [r.body for r in generations]
    named += [r.body for r in openai_env.requests if r.kind in ("checklist", "evaluation")]
    assert len(named) == 6 + 1 + 4
    for body in named:
        references = input_images(body)[:2]
        assert [part.get("file_id") for part in references] == file_ids
        assert all("image_url" not in part for part in references)
    assert sorted(openai_env.deleted_files) == sorted(file_ids)
    assert output["usage"]["unpriced_calls"] == 0


def test_keep_files_keeps_the_uploads(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([95])
    code, _output, _err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path), "--keep-files",
    )
    assert code == 0
    assert len(openai_env.uploads) == 1
    assert openai_env.deleted_files == []
    assert list(openai_env.files) == [openai_env.uploads[0][0]]
    (upload,) = openai_env.requests_to("/v1/files")
    assert "expires_after" not in upload.body  # kept means kept
    assert openai_env.expiries == {openai_env.uploads[0][0]: None}


def test_uploads_expire_and_a_lost_reply_leaves_one_orphan_that_expires(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The first upload is stored but its reply is lost: the retry stores a second copy, the
    run deletes the one it knows, and the orphan goes by itself (``expires_after``)."""
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([95])
    openai_env.script_faults([{"path": "/v1/files", "lost": True}])
    code, _output, err = run_cli(capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path))
    assert code == 0, err
    requests = openai_env.requests_to("/v1/files")
    assert len(requests) == 2  # the lost one and its retry
    for request in requests:
        assert request.body["expires_after"] == {"anchor": "created_at", "seconds": "86400"}
    (orphan, _), (known, _) = openai_env.uploads
    assert openai_env.deleted_files == [known]
    orphans = list(openai_env.files)
    assert orphans == [orphan]  # counted: one retried upload, one orphan
    created = requests[0].response["created_at"]
    assert openai_env.expiries[orphan] == created + 86400


def test_a_server_without_files_gets_data_urls(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.files_api = False
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([95])
    code, _output, err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path), "--candidates", "2",
    )
    assert code == 0, err
    assert len(openai_env.requests_to("/v1/files")) == 1  # asked once, then not again
    for request in openai_env.generation_requests():
        (image,) = input_images(request.body)
        assert base64.b64decode(image["image_url"].split(",", 1)[1]) == ref.read_bytes()


def test_a_data_url_is_reencoded_to_fit_the_limit() -> None:
    buffer = io.BytesIO()
    noisy = Image.effect_noise((400, 300), 80).convert("RGB")
    noisy.save(buffer, "PNG")
    data = buffer.getvalue()
    limit = len(data)  # base64 makes the plain data URL about a third larger
    url = fitting_data_url(data, "image/png", limit=limit)
    assert len(url) <= limit
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.format == "PNG" and decoded.width < 400
    assert fitting_data_url(data, "image/png", limit=10 * limit).endswith(
        base64.b64encode(data).decode()[-20:]
    )


def test_a_16_bit_png_is_reencoded_as_8_bit_without_clipping() -> None:
    grey = Image.linear_gradient("L").resize((256, 256)).convert("I")
    deep = grey.point(lambda value: value * 257).convert("I;16")  # 0..65535
    buffer = io.BytesIO()
    deep.save(buffer, "PNG")
    data = buffer.getvalue()
    url = fitting_data_url(data, "image/png", limit=len(data))
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.mode == "L"
    # The gradient survives (mean mid-grey), not everything above 255 clipped to white.
    (mean,) = ImageStat.Stat(decoded).mean
    assert 110 < mean < 145
    assert len(url) <= len(data)
