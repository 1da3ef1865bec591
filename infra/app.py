"""CDK entry point: `cdk deploy -c stage=dev` (or `prod`) from infra/, `make synth` offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", "us-east-1"))
    import aws_cdk as cdk

    from infra.stack import PlatformStack

    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(ROOT / "infra" / "cdk.out")))
    stage = app.node.try_get_context("stage") or "dev"
    if stage not in ("dev", "prod"):
        raise SystemExit(f"unknown stage {stage!r}: use -c stage=dev or -c stage=prod")
    PlatformStack(
        app,
        f"mmp-{stage}",
        stage=stage,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    app.synth()


if __name__ == "__main__":
    main()
