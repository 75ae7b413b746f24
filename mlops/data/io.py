"""Where data comes from and goes to: a local folder or an ``s3://`` prefix.

Results are built in a staging folder and only then moved into place, so a failed run leaves
nothing half-written: locally the staging folder is a hidden sibling of the output, renamed into
place at the end; for S3 it is a local temporary folder, uploaded at the end with data files
first, manifests next and reports last (a reader that finds the report finds everything it
lists). Only the standard library and boto3 are imported here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlops.data.schema import MANIFESTS_DIR, SHARDS_DIR, TRANSACTIONS_DIR
from mlops.errors import InputError, MlopsError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FileFormat = Literal["csv", "parquet"]

_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_TRANSFER_THREADS = 8


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str  # no leading or trailing slash; "" is the bucket root

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    @property
    def prefix(self) -> str:
        """The key prefix of everything under this location ("" or "a/b/")."""
        return f"{self.key}/" if self.key else ""

    def child(self, relative: str) -> S3Location:
        return S3Location(self.bucket, f"{self.prefix}{relative}".strip("/"))


Location = Path | S3Location


def parse_location(text: str | os.PathLike[str]) -> Location:
    """``s3://bucket/key`` -> :class:`S3Location`; anything else is a local path."""
    value = os.fspath(text)
    if value.startswith("s3://"):
        bucket, _, key = value[len("s3://") :].partition("/")
        if not bucket:
            raise InputError(f"{value!r} has no bucket name: use s3://BUCKET/PREFIX")
        return S3Location(bucket, key.strip("/"))
    if "://" in value:
        raise InputError(f"{value!r}: only local paths and s3:// URIs are supported")
    return Path(value).expanduser().absolute()


def location_uri(location: Location) -> str:
    return location.uri if isinstance(location, S3Location) else str(location)


def s3_client() -> S3Client:
    import boto3

    return boto3.client("s3")


@contextmanager
def s3_errors(uri: str) -> Iterator[None]:
    """S3 failures as one-line errors naming the URI (a missing bucket is no traceback),
    explained by :func:`mlops.aws_errors.explain` (what went wrong, and the fix)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops.aws_errors import EXIT_USAGE, explain

    try:
        yield
    except (ClientError, BotoCoreError) as error:
        explained = explain(error)
        assert explained is not None  # every botocore error is explained
        kind = InputError if explained.status == EXIT_USAGE else MlopsError
        raise kind(f"{uri}: {explained.message}") from None


def file_format(name: str) -> FileFormat | None:
    lower = name.lower()
    for suffix, fmt in _FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


@dataclass(frozen=True)
class InputFile:
    """One input part: its name relative to the input (its identity), and a local copy."""

    name: str
    path: Path
    size: int
    format: FileFormat


@contextmanager
def local_inputs(
    source: str | os.PathLike[str], *, allow_empty: bool = False
) -> Iterator[list[InputFile]]:
    """The CSV or Parquet parts of ``source`` (a file, a folder or an S3 prefix) as local files.

    A folder or prefix is read one level deep, sorted by name; names starting with ``.`` or
    ``_`` are skipped. S3 objects are downloaded to a temporary folder, deleted afterwards.
    ``allow_empty``: an empty folder gives no files instead of an error (a Processing shard
    may get no files when there are fewer files than instances).
    """
    location = parse_location(source)
    if isinstance(location, Path):
        yield _local_files(location, allow_empty)
        return
    with tempfile.TemporaryDirectory(prefix="mlops-data-in-") as temporary:
        with s3_errors(location.uri):
            files = _download(location, Path(temporary), allow_empty)
        yield files


def _local_files(path: Path, allow_empty: bool) -> list[InputFile]:
    if path.is_file():
        fmt = file_format(path.name)
        if fmt is None:
            raise InputError(f"{path} is not a CSV or Parquet file (.csv, .csv.gz, .parquet)")
        return [InputFile(path.name, path, path.stat().st_size, fmt)]
    if not path.is_dir():
        raise InputError(f"input {path} does not exist")
    files: list[InputFile] = []
    folders: list[str] = []
    for entry in sorted(path.iterdir(), key=lambda item: item.name):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            folders.append(entry.name)
            continue
        fmt = file_format(entry.name)
        if fmt is not None:
            files.append(InputFile(entry.name, entry, entry.stat().st_size, fmt))
    if not files and TRANSACTIONS_DIR in folders:
        # The generator's output folder: its transactions are the data to split.
        return _local_files(path / TRANSACTIONS_DIR, allow_empty)
    return _checked(files, str(path), folders, allow_empty)


def _checked(
    files: list[InputFile], where: str, folders: list[str], allow_empty: bool
) -> list[InputFile]:
    if not files and not allow_empty:
        hint = ""
        if folders:
            hint = f" (it has folders {', '.join(folders)}: point at one of them)"
        raise InputError(f"no CSV or Parquet files in {where}{hint}")
    formats = {item.format for item in files}
    if len(formats) > 1:
        raise InputError(f"{where} mixes CSV and Parquet files: use one format per input")
    return files


def _download(location: S3Location, folder: Path, allow_empty: bool) -> list[InputFile]:
    client = s3_client()
    objects: list[tuple[str, str, int]] = []  # (relative name, key, size)
    folders: list[str] = []
    single = _head(client, location) if location.key else None
    if single is not None:
        objects.append((location.key.rsplit("/", 1)[-1], location.key, single))
    else:
        paginator = client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=location.bucket, Prefix=location.prefix, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                folders.append(common.get("Prefix", "")[len(location.prefix) :].rstrip("/"))
            for item in page.get("Contents", []):
                key = item.get("Key", "")
                name = key[len(location.prefix) :]
                if name and not name.startswith((".", "_")) and file_format(name):
                    objects.append((name, key, item.get("Size", 0)))
    if not objects and TRANSACTIONS_DIR in folders:
        # The generator's output prefix: its transactions are the data to split.
        return _download(location.child(TRANSACTIONS_DIR), folder, allow_empty)
    files = [
        InputFile(name, folder / name, size, fmt)
        for name, _, size in sorted(objects)
        if (fmt := file_format(name)) is not None
    ]
    _checked(files, location.uri, folders, allow_empty)

    def fetch(entry: tuple[str, str, int]) -> None:
        name, key, _ = entry
        client.download_file(location.bucket, key, str(folder / name))

    with ThreadPoolExecutor(_TRANSFER_THREADS) as pool:
        list(pool.map(fetch, objects))
    return files


def _head(client: S3Client, location: S3Location) -> int | None:
    """Size of the object at ``location``, or None when it is not an object (a prefix)."""
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=location.bucket, Key=location.key)["ContentLength"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def has_content(location: Location) -> bool:
    """Whether ``location`` already holds something (a file, a non-empty folder or prefix)."""
    if isinstance(location, Path):
        if location.is_dir():
            return any(location.iterdir())
        return location.exists()
    with s3_errors(location.uri):
        response = s3_client().list_objects_v2(
            Bucket=location.bucket, Prefix=location.prefix, MaxKeys=1
        )
    return response.get("KeyCount", 0) > 0


class Destination:
    """An output folder or prefix, written through a staging folder (see the module doc)."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.location = parse_location(out)

    @property
    def uri(self) -> str:
        return location_uri(self.location)

    def check(self, overwrite: bool) -> None:
        """Fail early when the output exists (and ``overwrite`` is off) or cannot be a folder."""
        if isinstance(self.location, Path) and self.location.is_file():
            raise InputError(f"output {self.location} is a file: give a folder")
        if not overwrite and has_content(self.location):
            raise InputError(f"output {self.uri} already exists: pass --overwrite to replace it")

    @contextmanager
    def staging(self, overwrite: bool) -> Iterator[Path]:
        """A local folder to build the result in; moved into place when the block succeeds."""
        self.check(overwrite)
        if isinstance(self.location, Path):
            final = self.location
            final.parent.mkdir(parents=True, exist_ok=True)
            stage = final.parent / f".{final.name}.staging-{uuid.uuid4().hex[:12]}"
        else:
            stage = Path(tempfile.mkdtemp(prefix="mlops-data-out-")) / "out"
        stage.mkdir()
        try:
            yield stage
            self.check(overwrite)
            if isinstance(self.location, Path):
                _publish_local(stage, self.location)
            else:
                with s3_errors(self.uri):
                    _publish_s3(stage, self.location)
        finally:
            if isinstance(self.location, Path):
                shutil.rmtree(stage, ignore_errors=True)
            else:
                shutil.rmtree(stage.parent, ignore_errors=True)


def _publish_order(relative: str) -> tuple[int, str]:
    """Data first, then manifests and shard files, then top-level reports."""
    top = relative.split("/", 1)[0]
    if "/" not in relative:
        return (2, relative)
    if top in (MANIFESTS_DIR, SHARDS_DIR):
        return (1, relative)
    return (0, relative)


def _publish_local(stage: Path, final: Path) -> None:
    if not final.exists():
        _move(stage, final)
        return
    # An existing output: an empty folder (e.g. a Processing job's output folder) or one we
    # may overwrite. Move the old content aside, then move each new entry in, reports last.
    trash = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
    trash.mkdir()
    try:
        for entry in list(final.iterdir()):
            _move(entry, trash / entry.name)
        for entry in sorted(stage.iterdir(), key=_publish_order_entry):
            _move(entry, final / entry.name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _move(source: Path, target: Path) -> None:
    """Rename (atomic on one file system); copy and delete across file systems."""
    try:
        source.rename(target)
    except OSError:
        shutil.move(str(source), str(target))


def _publish_order_entry(entry: Path) -> tuple[int, str]:
    if entry.is_file():
        return (2, entry.name)
    return (1 if entry.name in (MANIFESTS_DIR, SHARDS_DIR) else 0, entry.name)


def _publish_s3(stage: Path, final: S3Location) -> None:
    client = s3_client()
    relatives = sorted(
        (path.relative_to(stage).as_posix() for path in stage.rglob("*") if path.is_file()),
        key=_publish_order,
    )
    existing = set(_list_keys(client, final))
    uploaded: list[str] = []

    def upload(relative: str) -> None:
        key = final.child(relative).key
        client.upload_file(str(stage / relative), final.bucket, key)
        uploaded.append(key)

    try:
        for stage_index in range(3):
            batch = [item for item in relatives if _publish_order(item)[0] == stage_index]
            if stage_index == 2:
                _delete_keys(
                    client,
                    final.bucket,
                    sorted(existing - {final.child(item).key for item in relatives}),
                )
            with ThreadPoolExecutor(_TRANSFER_THREADS) as pool:
                list(pool.map(upload, batch))
    except BaseException:
        _delete_keys(client, final.bucket, [key for key in uploaded if key not in existing])
        raise


def _list_keys(client: S3Client, location: S3Location) -> Iterator[str]:
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.prefix):
        for item in page.get("Contents", []):
            yield item.get("Key", "")


def _delete_keys(client: S3Client, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
        )


def read_text(uri: str | os.PathLike[str]) -> str:
    location = parse_location(uri)
    if isinstance(location, Path):
        return location.read_text(encoding="utf-8")
    with s3_errors(location.uri):
        body = s3_client().get_object(Bucket=location.bucket, Key=location.key)["Body"]
        return body.read().decode("utf-8")


def write_text(uri: str | os.PathLike[str], text: str) -> None:
    """Write one small file atomically (temporary file + rename locally; one PUT on S3)."""
    location = parse_location(uri)
    if isinstance(location, S3Location):
        with s3_errors(location.uri):
            s3_client().put_object(
                Bucket=location.bucket, Key=location.key, Body=text.encode("utf-8")
            )
        return
    location.parent.mkdir(parents=True, exist_ok=True)
    temporary = location.parent / f".{location.name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, location)
    finally:
        temporary.unlink(missing_ok=True)


def find_files(uri: str | os.PathLike[str], name: str) -> list[str]:
    """URIs of the files called ``name`` anywhere under ``uri``, sorted."""
    location = parse_location(uri)
    if isinstance(location, Path):
        return sorted(str(path) for path in location.rglob(name) if path.is_file())
    with s3_errors(location.uri):
        return sorted(
            f"s3://{location.bucket}/{key}"
            for key in _list_keys(s3_client(), location)
            if key.rsplit("/", 1)[-1] == name
        )
