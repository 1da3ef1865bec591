"""Cold start: import time of `app` over import time of `boto3`, each in fresh interpreters.

Each figure is the median of `runs` fresh interpreters (cwd = repository root, the bench's
environment), the two modules alternating so drift hits both. One more `-X importtime` run of
`import app` says which third-party packages the project pulls in at import, and from where.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5

# packages worth keeping off the import path of a Lambda cold start
WATCHED = (
    "boto3",
    "botocore",
    "pynamodb",
    "jwt",
    "cryptography",
    "aws_xray_sdk",
    "aws_lambda_powertools",
    "pydantic",
    "pydantic_core",
    "chalice",
    "stdnum",
    "urllib3",
    "requests",
    "yaml",
    "moto",
)

_TIMED = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"
_LOADED = (
    "import sys, json; import app; "
    "print(json.dumps({{w: sum(m == w or m.startswith(w + '.') for m in sys.modules) for w in {watched!r}}}))"
)


@dataclass
class ImportCost:
    package: str
    ms: float
    imported_by: str


@dataclass
class ColdStart:
    app_ms: list[float]
    boto3_ms: list[float]
    loaded: dict[str, int]  # watched package -> modules of it loaded by `import app` (0: not loaded)
    costs: list[ImportCost]
    total_ms: float

    @property
    def app_median(self) -> float:
        return statistics.median(self.app_ms)

    @property
    def boto3_median(self) -> float:
        return statistics.median(self.boto3_ms)

    @property
    def ratio(self) -> float:
        return self.app_median / self.boto3_median

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET_RATIO


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def _timed(module: str) -> float:
    return float(_python("-c", _TIMED.format(mod=module)).stdout.strip().splitlines()[-1]) * 1000


def measure(runs: int = 5) -> ColdStart:
    # one untimed run each, so byte-code caches of files edited since the last run are written first
    _timed("app")
    _timed("boto3")
    app_ms, boto3_ms = [], []
    for _ in range(runs):
        app_ms.append(_timed("app"))
        boto3_ms.append(_timed("boto3"))
    loaded = json.loads(_python("-c", _LOADED.format(watched=WATCHED)).stdout.strip().splitlines()[-1])
    costs, total = import_costs(_python("-X", "importtime", "-c", "import app").stderr)
    return ColdStart(app_ms, boto3_ms, loaded, costs, total)


def _project(name: str) -> bool:
    return name == "app" or name.split(".")[0] == "chalicelib"


def import_costs(importtime: str) -> tuple[list[ImportCost], float]:
    """Third-party packages imported directly by project modules: cumulative ms and the importer.

    `-X importtime` prints a module after the modules it imported, indented one level deeper; the
    cumulative figure of a module includes them. Returns the costs (largest first) and the total of
    `import app`.
    """
    nodes: list[tuple[int, str, float]] = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit():
            continue  # the header line
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        nodes.append((depth, name.strip(), int(cumulative) / 1000))
    # children come before their parent: a node's parent is the next node one level up
    parent: dict[int, str] = {}
    pending: dict[int, list[int]] = {}
    for i, (depth, name, _) in enumerate(nodes):
        for child in pending.pop(depth + 1, []):
            parent[child] = name
        pending.setdefault(depth, []).append(i)
    costs: dict[tuple[str, str], float] = {}
    total = 0.0
    for i, (_, name, ms) in enumerate(nodes):
        if name == "app":
            total = ms
        importer = parent.get(i, "-")
        if _project(name) or not _project(importer):
            continue
        key = (name.split(".")[0], importer)
        costs[key] = costs.get(key, 0.0) + ms
    ranked = sorted((ImportCost(pkg, ms, by) for (pkg, by), ms in costs.items()), key=lambda c: -c.ms)
    return [c for c in ranked if c.ms >= 1.0], total
