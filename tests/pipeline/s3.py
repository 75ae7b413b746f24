"""S3 as SageMaker uses it for jobs: inputs copied to the container, outputs uploaded back."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class S3Failure(AssertionError):
    """What SageMaker reports when an input or output cannot be used (the step fails)."""


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise S3Failure(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


@dataclass(frozen=True)
class S3:
    client: Any

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def objects_under(self, uri: str) -> list[tuple[str, str]]:
        """(key, path relative to the prefix) of every object an ``S3Prefix`` input selects.

        ``s3://b/run/test`` selects ``run/test/part-0.csv`` as ``part-0.csv``, and the object
        ``s3://b/run/labels.csv`` itself as ``labels.csv`` (how AWS's examples read a step's
        output folder or one file). A key that merely starts with the same characters
        (``run/test-features/...``) would be selected by S3's prefix match too and land in an
        unexpected place: that is refused as a definition error.
        """
        bucket, prefix = split_uri(uri)
        selected = []
        for key in sorted(self.keys(bucket, prefix)):
            rest = key[len(prefix) :]
            if prefix.endswith("/") or not rest:
                relative = rest or posixpath.basename(key)
            elif rest.startswith("/"):
                relative = rest.lstrip("/")
            else:
                raise S3Failure(
                    f"S3 prefix {uri} also selects {key}: name inputs by a folder or an object"
                )
            if relative and not relative.endswith("/"):
                selected.append((key, relative))
        return selected

    def download(self, uri: str, folder: Path, keys: list[tuple[str, str]]) -> None:
        bucket, _ = split_uri(uri)
        for key, relative in keys:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(bucket, key, str(target))

    def upload_folder(
        self, folder: Path, uri: str, *, kms_key: str | None, written: dict[str, str]
    ) -> int:
        """Every file under ``folder`` to ``uri/<relative path>``; ``written`` maps each key
        to the host that wrote it, so two instances writing one key are caught."""
        bucket, prefix = split_uri(uri)
        count = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}".lstrip("/")
            owner = written.setdefault(f"{bucket}/{key}", str(folder))
            if owner != str(folder):
                raise S3Failure(
                    f"two instances wrote s3://{bucket}/{key} ({owner} and {folder}): one "
                    "would silently replace the other"
                )
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
            self.client.upload_file(str(path), bucket, key, ExtraArgs=extra)
            count += 1
        return count

    def read_text(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise S3Failure(f"{uri} does not exist") from None
        return str(body.decode("utf-8"))

    def exists(self, uri: str) -> bool:
        bucket, key = split_uri(uri)
        response: Mapping[str, Any] = self.client.list_objects_v2(
            Bucket=bucket, Prefix=key, MaxKeys=1
        )
        return any(item["Key"] == key for item in response.get("Contents", []))

    def write_text(self, uri: str, text: str, *, kms_key: str | None = None) -> None:
        bucket, key = split_uri(uri)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self.client.put_object(Bucket=bucket, Key=key, Body=text.encode(), **extra)

    def write_bytes(self, uri: str, data: bytes, *, kms_key: str | None = None) -> None:
        bucket, key = split_uri(uri)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self.client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
