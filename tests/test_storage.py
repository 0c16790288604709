"""Upload against a real S3-compatible server (moto's, on loopback) started by the test."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeOpenAIServer
from images import ring_photo

from agentic_image_gen.core.errors import StorageError
from agentic_image_gen.frontends import cli
from agentic_image_gen.store.report import render_report
from agentic_image_gen.store.upload import (
    INSTALL_HINT,
    parse_s3_url,
    upload_image_to_cloud,
    upload_run,
)

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install boto3)")
moto_server = pytest.importorskip(
    "moto.server", reason="moto's server is not installed (pip install 'moto[server]')"
)

SECRET = "test-secret-key-must-not-leak-0123"
BUCKET = "product-images"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A client on the moto server, the AWS environment pointing there, and a fresh bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "iter-02.png"
    path.write_bytes(ring_photo(fmt="PNG"))
    return path


def test_upload_lands_with_bytes_and_content_type_and_presigned_url_downloads(
    s3: Any, image: Path, s3_endpoint: str
) -> None:
    url = upload_image_to_cloud(str(image), f"s3://{BUCKET}/rings/gold/")
    stored = s3.get_object(Bucket=BUCKET, Key="rings/gold/iter-02.png")
    assert stored["Body"].read() == image.read_bytes()
    assert stored["ContentType"] == "image/png"
    assert url.startswith(f"{s3_endpoint}/") and "X-Amz-Signature=" in url
    assert "Expires=3600" in url or "X-Amz-Expires=3600" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == image.read_bytes()
    assert response.headers["content-type"] == "image/png"


def test_exact_key_and_public_url(s3: Any, image: Path, s3_endpoint: str) -> None:
    """--public returns the plain URL: it reads where the bucket policy allows, else not."""
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/catalog/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read))
    url = upload_image_to_cloud(str(image), f"s3://{BUCKET}/catalog/ring 1.png", public=True)
    assert url == f"{s3_endpoint}/{BUCKET}/catalog/ring%201.png"
    stored = s3.get_object(Bucket=BUCKET, Key="catalog/ring 1.png")
    assert stored["Body"].read() == image.read_bytes()
    assert httpx.get(url, timeout=10).content == image.read_bytes()
    private = upload_image_to_cloud(str(image), f"s3://{BUCKET}/private/", public=True)
    assert httpx.get(private, timeout=10).status_code == 403


def test_upload_run_puts_image_and_report_under_the_run_folder_name(
    s3: Any, image: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "20250101T000000Z-gold-ring"
    run_dir.mkdir()
    html = "<!DOCTYPE html><title>ring · é</title>"
    urls = upload_run(run_dir, str(image), f"s3://{BUCKET}/shop", report_html=html, expires_in=600)
    assert set(urls) == {"best_image_public_url", "report_public_url"}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="shop/")["Contents"]}
    assert keys == {
        "shop/20250101T000000Z-gold-ring/iter-02.png",
        f"shop/{run_dir.name}/report.html",
    }
    page = httpx.get(urls["report_public_url"], timeout=10)
    assert page.content == html.encode("utf-8")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert httpx.get(urls["best_image_public_url"], timeout=10).content == image.read_bytes()


def test_missing_bucket_is_one_clear_line_without_secrets(s3: Any, image: Path) -> None:
    with pytest.raises(StorageError) as caught:
        upload_image_to_cloud(str(image), "s3://no-such-bucket-here/x/")
    message = str(caught.value)
    assert "s3://no-such-bucket-here/x/iter-02.png" in message
    assert "NoSuchBucket" in message
    assert "\n" not in message
    assert SECRET not in message and "testing-access-key" not in message


def test_unreachable_endpoint_is_a_storage_error(
    s3: Any, image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(StorageError, match=r"upload to s3://product-images/iter-02.png failed"):
        upload_image_to_cloud(str(image), f"s3://{BUCKET}")


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("https://bucket/x", "is not s3://bucket/prefix/"),
        ("s3:///prefix/", "is not s3://bucket/prefix/"),
        ("s3://bucket/x?versionId=1", "must not have"),
    ],
)
def test_bad_destinations(destination: str, message: str, image: Path) -> None:
    with pytest.raises(StorageError, match=message):
        upload_image_to_cloud(str(image), destination)


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b").key_for("a.png") == "a.png"
    assert parse_s3_url("s3://b/p/q/").key_for("a.png") == "p/q/a.png"
    assert parse_s3_url("s3://b/p/name.png").key_for("a.png") == "p/name.png"
    assert parse_s3_url("s3://b/p/").child("run-1").key_for("a.png") == "p/run-1/a.png"


def test_missing_file_and_bad_expiry(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such file"):
        upload_image_to_cloud(str(tmp_path / "nope.png"), "s3://b/")
    with pytest.raises(StorageError, match="must expire"):
        upload_image_to_cloud(str(tmp_path / "nope.png"), "s3://b/", expires_in=0)


def test_without_boto3_the_error_says_how_to_install(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    with pytest.raises(StorageError) as caught:
        upload_image_to_cloud(str(image), "s3://bucket/prefix/")
    assert str(caught.value) == f"--upload needs boto3: {INSTALL_HINT}"
    assert "pip install 'agentic-image-gen[s3]'" in str(caught.value)


def test_a_real_run_uploads_its_best_image_and_a_standalone_report(
    s3: Any,
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    openai_env.script_scores([40, 92])
    argv = ["ring", "--out", str(tmp_path), "--evaluator", "rubric", "--quiet"]
    assert cli.main(argv) == 0
    output = json.loads(capsys.readouterr().out)
    run_dir = Path(output["run_dir"])
    html = render_report(run_dir, embed_images=True)
    urls = upload_run(run_dir, output["best_image_url"], f"s3://{BUCKET}/runs/", report_html=html)
    best = Path(output["best_image_url"]).read_bytes()
    assert httpx.get(urls["best_image_public_url"], timeout=10).content == best
    page = httpx.get(urls["report_public_url"], timeout=10).text
    assert page == html and base64.b64encode(best).decode() in page


def test_upload_flag_adds_urls_to_the_json(
    s3: Any,
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    openai_env.script_scores([92])
    argv = ["ring", "--out", str(tmp_path), "--quiet", "--upload", f"s3://{BUCKET}/shop/"]
    assert cli.main([*argv, "--upload-report"]) == 0
    output = json.loads(capsys.readouterr().out)
    best = Path(output["best_image_url"]).read_bytes()
    assert httpx.get(output["best_image_public_url"], timeout=10).content == best
    assert "<html" in httpx.get(output["report_public_url"], timeout=10).text
    assert SECRET not in json.dumps(output)


def test_failed_upload_keeps_the_local_result_and_exits_6(
    s3: Any,
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    openai_env.script_scores([92])
    argv = ["ring", "--out", str(tmp_path), "--quiet", "--upload", "s3://no-such-bucket/x/"]
    assert cli.main(argv) == 6
    captured = capsys.readouterr()
    output = json.loads(captured.out)
    assert "no-such-bucket" in output["upload_error"]
    assert Path(output["best_image_url"]).is_file()
    assert Path(output["report"]).is_file()
    assert captured.err.strip().startswith("agentic-image-gen: error: ")
    assert SECRET not in captured.err + captured.out
