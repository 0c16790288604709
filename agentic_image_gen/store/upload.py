"""Upload the best image (and the report) to any S3-compatible store.

boto3 is an optional dependency (``pip install 'agentic-image-gen[s3]'``) and is imported only
when an upload happens. Endpoint, credentials and region come from the standard AWS
environment and config files (boto3 honours ``AWS_ENDPOINT_URL``), so AWS, MinIO, R2 or any
other S3-compatible store needs no flag of ours. The functions here are synchronous (boto3
is): async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from agentic_image_gen.core.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

INSTALL_HINT = "pip install 'agentic-image-gen[s3]'"
_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
}
MAX_EXPIRY = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix/`` (a folder: keys are prefix + file name) or ``s3://bucket/key``."""

    bucket: str
    key: str

    @property
    def is_folder(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def key_for(self, filename: str) -> str:
        return f"{self.key}{filename}" if self.is_folder else self.key

    def child(self, folder: str) -> S3Location:
        """The folder ``folder/`` under this one (this location must be a folder)."""
        return S3Location(self.bucket, f"{self.key}{folder.strip('/')}/")


def parse_s3_url(destination: str) -> S3Location:
    """Parse ``s3://bucket[/prefix/]``; anything else is a one-line StorageError."""
    parts = urlsplit(destination.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"upload destination {destination!r} is not s3://bucket/prefix/")
    if parts.query or parts.fragment:
        raise StorageError(f"upload destination {destination!r} must not have ? or #")
    return S3Location(parts.netloc, parts.path.lstrip("/"))


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "binary/octet-stream"


def s3_client() -> S3Client:
    """A client configured from the standard AWS environment; a clear error without boto3."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise StorageError(f"--upload needs boto3: {INSTALL_HINT}") from exc
    config = Config(
        signature_version="s3v4",
        connect_timeout=10,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    try:
        return boto3.session.Session().client("s3", config=config)
    except Exception as exc:  # botocore raises many types for bad config; say which, not how
        raise StorageError(f"cannot set up the S3 client: {type(exc).__name__}") from exc


def _describe(exc: BaseException) -> str:
    """The store's error code and message, or botocore's own one-liner; secrets redacted."""
    cause: BaseException | None = exc
    for _ in range(5):  # boto3 wraps the ClientError that says what the store answered
        if cause is None:
            break
        response: Any = getattr(cause, "response", None)
        error = response.get("Error") if isinstance(response, dict) else None
        if isinstance(error, dict) and (error.get("Code") or error.get("Message")):
            parts = (error.get("Code"), error.get("Message"))
            return _redact(": ".join(str(part) for part in parts if part))
        cause = cause.__cause__ or cause.__context__
    from botocore.exceptions import BotoCoreError

    text = str(exc) if isinstance(exc, BotoCoreError) else type(exc).__name__
    return _redact(" ".join(text.split()))


def _redact(text: str) -> str:
    """Belt and braces: no message of ours may carry a secret from the environment."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"):
        secret = os.environ.get(name, "")
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def object_url(client: S3Client, bucket: str, key: str) -> str:
    """The plain (unsigned) URL of an object, path-style on the client's endpoint."""
    endpoint = client.meta.endpoint_url.rstrip("/")
    return f"{endpoint}/{quote(bucket)}/{quote(key)}"


def upload_file(
    source: Path | bytes,
    destination: S3Location,
    *,
    name: str | None = None,
    public: bool = False,
    expires_in: int = 3600,
    client: S3Client | None = None,
) -> str:
    """Upload a file (or bytes called ``name``) with its content type; return a presigned GET
    URL, or the plain object URL when ``public``.

    ``public`` does not set an ACL (many buckets refuse ACLs): it returns the plain URL, which
    works when the bucket's policy allows public reads.
    """
    if not 1 <= expires_in <= MAX_EXPIRY:
        raise StorageError(f"a presigned URL must expire within 1..{MAX_EXPIRY} seconds")
    if isinstance(source, Path) and not source.is_file():
        raise StorageError(f"cannot upload {source}: no such file")
    filename = name or (source.name if isinstance(source, Path) else "upload.bin")
    client = client or s3_client()
    bucket, key = destination.bucket, destination.key_for(filename)
    where = f"s3://{bucket}/{key}"
    mime = content_type(Path(filename))
    try:
        if isinstance(source, Path):
            client.upload_file(str(source), bucket, key, ExtraArgs={"ContentType": mime})
        else:
            client.put_object(Bucket=bucket, Key=key, Body=source, ContentType=mime)
        if public:
            return object_url(client, bucket, key)
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
    except OSError as exc:
        raise StorageError(f"cannot upload {filename} to {where}: {exc.strerror or exc}") from exc
    except Exception as exc:  # boto3/botocore/s3transfer errors share no useful base class
        raise StorageError(f"upload to {where} failed: {_describe(exc)}") from exc


def upload_image_to_cloud(
    image_path: str, destination: str, *, public: bool = False, expires_in: int = 3600
) -> str:
    """Upload an image to ``s3://bucket/prefix/`` (or an exact ``s3://bucket/key``).

    Returns a presigned GET URL valid for ``expires_in`` seconds, or the plain object URL
    when ``public``. Synchronous: async callers use ``asyncio.to_thread``.
    """
    return upload_file(
        Path(image_path), parse_s3_url(destination), public=public, expires_in=expires_in
    )


def upload_run(
    run_dir: Path,
    best_image: str,
    destination: str,
    *,
    report_html: str | None = None,
    public: bool = False,
    expires_in: int = 3600,
) -> dict[str, str]:
    """Upload a run's best image (and a report) to ``s3://bucket/prefix/<run folder name>/``.

    The run folder's name keeps runs sharing a prefix apart. ``report_html`` should come from
    ``report.render_report(run_dir, embed_images=True)``: it shows its images without the rest
    of the run folder. Returns the JSON keys ``best_image_public_url`` and, with a report,
    ``report_public_url``. Synchronous: async callers use ``asyncio.to_thread``.
    """
    location = parse_s3_url(destination)
    if not location.is_folder:  # s3://bucket/prefix means the folder prefix/ here
        location = S3Location(location.bucket, f"{location.key}/")
    folder = location.child(PurePosixPath(run_dir.name).name)
    client = s3_client()
    options: dict[str, Any] = {"public": public, "expires_in": expires_in, "client": client}
    urls = {"best_image_public_url": upload_file(Path(best_image), folder, **options)}
    if report_html is not None:
        body = report_html.encode("utf-8")
        urls["report_public_url"] = upload_file(body, folder, name="report.html", **options)
    return urls
