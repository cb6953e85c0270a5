"""FileStoreContract on S3: ``FsspecFileStore("s3://bucket/prefix")`` through s3fs,
against a moto server this module starts on loopback (no AWS, no network).

Needs the ``s3`` extra (s3fs) and moto's server (``moto[server]``), both in ``dev``.
Without them the tests are skipped with the reason — except with CI=true, where
they fail, so CI cannot pass by quietly testing nothing.
"""

from __future__ import annotations

import importlib
import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contactbook.adapters.files.fsspec import FsspecFileStore
from contactbook.ports.files import FileStore
from contactbook.testing.files_contract import MIB, FileStoreContract, StallingSource, stalled_put

REGION = "us-east-1"
CREDENTIALS = {"key": "contactbook-test", "secret": "contactbook-test-secret"}


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        why = f"{module} is not installed ({error}); install the dev extra: pip install -e '.[dev]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}; CI=true needs the S3 file store tests to run")
        pytest.skip(why)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 and a free port, for this module's tests."""
    _require("s3fs")
    server_module = _require("moto.server")
    with pytest.MonkeyPatch.context() as env:
        # Never send loopback traffic through a proxy configured for the machine.
        env.setenv("NO_PROXY", ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"])))
        env.setenv("no_proxy", ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1"])))
        server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="module")
def bucket(moto_endpoint: str) -> str:
    boto3 = _require("boto3")
    name = f"contactbook-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
    )
    client.create_bucket(Bucket=name)
    return name


def s3_client(endpoint: str) -> Any:
    """A boto3 client of the moto server, to look behind the store's back."""
    return _require("boto3").client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
    )


def s3_options(endpoint: str) -> dict[str, Any]:
    """Storage options for s3fs: the moto endpoint and fixed test credentials."""
    return {
        **CREDENTIALS,
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": REGION},
        "skip_instance_cache": True,
    }


class TestS3FileStore(FileStoreContract):
    """The same contract as the memory and local stores, each test under its own prefix."""

    @pytest.fixture
    def file_store(self, moto_endpoint: str, bucket: str) -> FileStore:
        return FsspecFileStore(f"s3://{bucket}/{uuid.uuid4().hex}", **s3_options(moto_endpoint))

    def test_from_url_takes_storage_options(self, moto_endpoint: str, bucket: str) -> None:
        store = FsspecFileStore.from_url(f"s3://{bucket}/via-url", **s3_options(moto_endpoint))
        blob = store.put(io.BytesIO(b"through from_url"), prefix="p")
        with store.open(blob.key) as stream:
            assert stream.read() == b"through from_url"
        store.delete(blob.key)

    def test_objects_live_under_the_prefix_in_the_bucket(
        self, moto_endpoint: str, bucket: str
    ) -> None:
        boto3 = _require("boto3")
        prefix = f"root-{uuid.uuid4().hex[:8]}"
        store = FsspecFileStore(f"s3://{bucket}/{prefix}", **s3_options(moto_endpoint))
        blob = store.put(io.BytesIO(b"object body"), prefix="evidence")
        client = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["key"],
            aws_secret_access_key=CREDENTIALS["secret"],
        )
        body = client.get_object(Bucket=bucket, Key=f"{prefix}/{blob.key}")["Body"].read()
        assert body == b"object body"

    def test_keys_report_last_modified_in_utc(self, file_store: FileStore) -> None:
        before = datetime.now(UTC) - timedelta(seconds=5)
        blob = file_store.put(io.BytesIO(b"abc"), prefix="p")
        [(key, modified)] = list(file_store.keys())
        assert key == blob.key
        assert modified is not None and modified.tzinfo is UTC
        assert before <= modified <= datetime.now(UTC) + timedelta(seconds=5)

    def test_two_open_streams_of_one_key_read_independently(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b"0123456789"), prefix="p")
        with file_store.open(blob.key) as first, file_store.open(blob.key) as second:
            assert first.read(4) == b"0123"
            assert second.read() == b"0123456789"
            assert first.read() == b"456789"

    def test_the_endpoint_can_come_from_the_environment(
        self, moto_endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """What ``contactbook.open(files="s3://…")`` relies on: botocore's own settings."""
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["key"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["secret"])
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        store = FsspecFileStore(f"s3://{bucket}/from-env", skip_instance_cache=True)
        blob = store.put(io.BytesIO(b"configured by the environment"), prefix="p")
        assert dict(store.keys()).keys() >= {blob.key}
        store.delete(blob.key)

    def test_a_source_failing_midway_a_multipart_upload_aborts_it(
        self, moto_endpoint: str, bucket: str
    ) -> None:
        """An upload that fails is abandoned, not completed with what it had: no object,
        and no incomplete multipart upload left to hold its parts."""
        prefix = f"mpu-{uuid.uuid4().hex[:8]}"
        options = {**s3_options(moto_endpoint), "default_block_size": 5 * MIB}
        store = FsspecFileStore(f"s3://{bucket}/{prefix}", **options)
        client = s3_client(moto_endpoint)

        def uploads_in_progress() -> list[str]:
            listed = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            return [upload["Key"] for upload in listed if upload["Key"].startswith(f"{prefix}/")]

        source = StallingSource(before=12 * MIB, after=MIB, failure=OSError("client went away"))
        with stalled_put(store, source) as put:
            assert len(uploads_in_progress()) == 1  # two 5 MiB parts are up already
            assert list(store.keys()) == []
        assert isinstance(put.error, OSError)
        assert list(store.keys()) == []
        assert uploads_in_progress() == []
        assert list(store.partial_uploads()) == []
