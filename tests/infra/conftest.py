"""Synthesise the CDK app once per session, offline, into a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def synth(stage: str, outdir: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMP_", "AWS_", "POWERTOOLS_"))}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        CDK_OUTDIR=str(outdir),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=outdir,  # the Chalice construct leaves its chalice.out/ working folder in the current directory
        env={**env, "CDK_CONTEXT_JSON": json.dumps({"stage": stage})},  # what `cdk -c stage=...` passes
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return outdir / f"mmp-{stage}.template.json"


@pytest.fixture(scope="session")
def dev_template_path(tmp_path_factory) -> Path:
    return synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod_template_path(tmp_path_factory) -> Path:
    return synth("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def dev(dev_template_path):
    from aws_cdk.assertions import Template

    return Template.from_json(json.loads(dev_template_path.read_text()))


@pytest.fixture(scope="session")
def prod(prod_template_path):
    from aws_cdk.assertions import Template

    return Template.from_json(json.loads(prod_template_path.read_text()))
