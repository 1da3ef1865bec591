"""Synthesise the CDK app once per session, offline, into temporary folders: dev and prod side by side.

A synth is mostly CPU in the CDK's node process, so the prod synth starts as soon as the dev one has
packaged the Chalice app: from then on both only read Chalice's package cache (`.chalice/deployments`),
which a synth writes without a lock (two writers of one new package could publish a torn zip).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYNTH_TIMEOUT = 600


def _start(stage: str, outdir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMP_", "AWS_", "POWERTOOLS_"))}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        CDK_OUTDIR=str(outdir / "cdk.out"),
        CDK_CONTEXT_JSON=json.dumps({"stage": stage}),  # what `cdk -c stage=...` passes
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONPATH=str(ROOT),
    )
    with (outdir / "synth.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "infra.app"],
            cwd=outdir,  # the Chalice construct leaves its chalice.out/ working folder in the cwd
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _packaged(process: subprocess.Popen, outdir: Path) -> None:
    """Wait until the synth has written its SAM template (the Chalice packages are complete by then)."""
    deadline = time.monotonic() + SYNTH_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if any(outdir.glob("chalice.out/*/sam.json")):
            return
        time.sleep(0.1)


def _finish(process: subprocess.Popen, stage: str, outdir: Path) -> Path:
    try:
        code = process.wait(timeout=SYNTH_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    log = (outdir / "synth.log").read_text()
    assert code == 0, f"synth of {stage} failed:\n{log[-6000:]}"
    return outdir / "cdk.out" / f"mmp-{stage}.template.json"


@pytest.fixture(scope="session")
def template_paths(tmp_path_factory) -> dict[str, Path]:
    dirs = {stage: tmp_path_factory.mktemp(f"cdk-{stage}") for stage in ("dev", "prod")}
    dev = _start("dev", dirs["dev"])
    try:
        _packaged(dev, dirs["dev"])
        prod = _start("prod", dirs["prod"])
    except BaseException:
        dev.kill()
        raise
    return {"dev": _finish(dev, "dev", dirs["dev"]), "prod": _finish(prod, "prod", dirs["prod"])}


@pytest.fixture(scope="session")
def dev_template_path(template_paths) -> Path:
    return template_paths["dev"]


@pytest.fixture(scope="session")
def prod_template_path(template_paths) -> Path:
    return template_paths["prod"]


@pytest.fixture(scope="session")
def dev_json(dev_template_path) -> dict:
    return json.loads(dev_template_path.read_text())


@pytest.fixture(scope="session")
def dev(dev_json):
    from aws_cdk.assertions import Template

    return Template.from_json(dev_json)


@pytest.fixture(scope="session")
def prod(prod_template_path):
    from aws_cdk.assertions import Template

    return Template.from_json(json.loads(prod_template_path.read_text()))
