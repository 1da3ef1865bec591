"""Schemathesis against /v1/openapi.json on the running local stack: no input gets a 5xx."""

import subprocess
import sys
from pathlib import Path

from tests.e2e.test_http import login


def test_no_generated_request_gets_a_server_error(local_stack, tmp_path):
    token = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    st = Path(sys.executable).with_name("st")
    cmd = [
        str(st),
        "run",
        f"{local_stack.url}/v1/openapi.json",
        "--url",
        local_stack.url,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "50",
        "--phases",
        "examples,coverage,fuzzing",
        # one worker: hypothesis compiles code while generating, and CPython 3.11 can fail two threads
        # doing so at once ("AST constructor recursion depth mismatch"); the stack serves one
        # request at a time anyway, like a Lambda container
        "--workers",
        "1",
        "--seed",
        "20261125",
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
        "--no-color",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:] + "\n--- stack log ---\n" + local_stack.log()[-3000:]
