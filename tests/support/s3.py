"""An S3-compatible server on loopback for the S3 blob store's tests: s3rver (npm), a separate
Node process speaking the S3 REST API over HTTP, objects kept on disk. Neither MinIO nor Ceph's
RGW can be installed from the package registries here (Debian's radosgw needs a whole Ceph
cluster). s3rver is an emulator: it knows one access key (S3RVER) and refuses others, but does
not verify request signatures."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.clients import s3rver

ACCESS_KEY = SECRET_KEY = "S3RVER"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def s3_server(directory: Path, bucket: str = "renewmap") -> Iterator[S3Server]:
    """Start s3rver storing under ``directory`` with ``bucket`` created; stop it after."""
    program = s3rver()
    port = _free_port()
    proc = subprocess.Popen(
        [program, "-d", str(directory), "-a", "127.0.0.1", "-p", str(port), "--silent",
         "--no-vhost-buckets", "--configure-bucket", bucket],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"s3rver exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("s3rver did not start in 30 s") from None
                time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}", bucket)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
