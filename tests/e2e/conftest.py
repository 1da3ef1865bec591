"""End-to-end fixtures: the real local stack (`python -m chalicelib.local`) on free loopback ports.

`local_stack` starts it once per session in a subprocess with a temporary `MMP_LOCAL_DIR`, waits
for its ready line, and at the end stops it with SIGINT and checks that it exits cleanly.
Every test in tests/e2e is marked `e2e`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90
STOP_TIMEOUT = 30


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@dataclass
class LocalStack:
    url: str
    aws_endpoint: str
    admin_number: str
    admin_password: str
    local_dir: Path
    content_bucket: str
    user_pool_id: str
    user_pool_client_id: str
    output: deque

    def log(self) -> str:
        """What the stack printed so far (the last lines), for assertion messages."""
        return "\n".join(self.output)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    local_dir = tmp_path_factory.mktemp("local")
    port, moto_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MMP_"))}
    env.update(
        {
            "PORT": str(port),
            "MOTO_PORT": str(moto_port),
            "MMP_LOCAL_DIR": str(local_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    output: deque = deque(maxlen=400)
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith("ready: "):
                ready.set()

    reader = threading.Thread(target=read, name="local-stack-output", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.wait(0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(output)
                pytest.fail(f"the local stack did not become ready (exit code {proc.poll()}):\n{tail}")
        info = json.loads((local_dir / "admin.json").read_text(encoding="utf-8"))
        yield LocalStack(
            url=f"http://127.0.0.1:{port}",
            aws_endpoint=info["aws_endpoint"],
            admin_number=info["registration_number"],
            admin_password=info["password"],
            local_dir=local_dir,
            content_bucket=info["content_bucket"],
            user_pool_id=info["user_pool_id"],
            user_pool_client_id=info["user_pool_client_id"],
            output=output,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
        else:
            code = proc.returncode
        reader.join(5)
    assert code == 0, "the local stack did not exit cleanly:\n" + "\n".join(output)
