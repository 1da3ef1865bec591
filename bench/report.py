"""Print the bench's figures as tables (rich), every time as a ratio against this run's baseline."""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.console import Console
from rich.table import Table

from bench.coldstart import TARGET_RATIO, ColdStart
from bench.counting import describe
from bench.operations import InProcessResult, Operation

PASS = "[bold green]PASS[/]"
FAIL = "[bold red]FAIL[/]"


def console() -> Console:
    # wide enough for the tables when the output goes to a file or a pipe
    return Console(width=None if Console().is_terminal else 150, highlight=False)


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _lines(ops: Counter) -> str:
    return "\n".join(f"{op} {n}" for op, n in sorted(ops.items())) or "-"


def _verdict(op: Operation) -> str:
    passed = op.passed()
    return "[dim]info[/]" if passed is None else (PASS if passed else FAIL)


def _table(title: str) -> Table:
    return Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", title_style="bold")


def operations(out: Console, result: InProcessResult) -> None:
    calls = _table("AWS calls per request (in-process: moto mock_aws + chalice.test.Client)")
    for col, kw in [
        ("operation", {}),
        ("DynamoDB", {"justify": "right"}),
        ("DynamoDB calls", {}),
        ("Cognito", {"justify": "right"}),
        ("Cognito calls", {}),
        ("target", {}),
        ("", {}),
    ]:
        calls.add_column(col, no_wrap=True, **kw)
    for op in result.operations:
        which = _lines(op.typical("dynamodb"))
        other = op.other()
        if other:
            which += f"\n+ {describe(other)} over {len(op.samples)} requests"
        calls.add_row(
            f"{op.name}\n[dim]{op.request}[/]",
            _span(op.ddb()),
            which,
            _span(op.cognito()),
            _lines(op.typical("cognito-idp")),
            op.target.text if op.target else "-",
            _verdict(op),
            end_section=True,
        )
    out.print(calls)

    base, tx = result.baseline_median(), result.transaction_median()
    times = _table(
        f"Time per request: median of {result.n} after {result.warmup} warm-up "
        f"(the Idempotency-Key row: {len(result.operations[5].samples)})"
    )
    for col in ("operation", "time", "median ms", "p90 ms", "1st call ms", "clients made by 1st call"):
        times.add_column(
            col, no_wrap=True, justify="left" if col in ("operation", "clients made by 1st call") else "right"
        )
    for op in result.operations:
        times.add_row(
            op.name,
            f"[bold]{op.median_ms() / base:.1f}×[/] GetItem",
            f"{op.median_ms():.2f}",
            f"{op.p90_ms():.2f}",
            f"{op.first_ms:.1f}",
            describe(op.first_clients),
        )
    times.add_row("[dim]baseline: boto3 GetItem[/]", "1.0× GetItem", f"{base:.2f}", "", "", "", style="dim")
    times.add_row(
        "[dim]reference: boto3 TransactWriteItems,[/]\n[dim]3 ConditionChecks (orgs, members, sequences)[/]",
        f"{tx / base:.1f}× GetItem",
        f"{tx:.2f}",
        "",
        "",
        "",
        style="dim",
    )
    out.print(times)
    out.print(
        f"DynamoDB, Cognito: calls per request (a range when requests differed); the calls listed are those "
        f"of the most common request. Target: at most that many DynamoDB calls (login: Cognito aside).\n"
        f"time: the median per request over one bare boto3 GetItem on the same mock ({base:.2f} ms, median "
        f"of {len(result.baseline_ms)} measured before and after the requests); ms are for information.\n"
        f"moto deep-copies every table a TransactWriteItems touches (orgs holds all seeded departments), "
        f"so a bare transaction already costs {tx / base:.0f}× GetItem here: compare register with that "
        f"reference, not with AWS.\n"
        f"1st call: the first request of each operation after dropping every cached client, connection and "
        f"JWKS key, as in a fresh Lambda container.\n"
        f"botocore clients made during setup: {describe(result.clients_setup)}. "
        f"Setup {result.setup_seconds:.1f} s, setup and requests {result.total_seconds:.1f} s. "
        f"{result.log_lines} log lines (POWERTOOLS_LOG_LEVEL=INFO as in the tests) went to a sink.\n"
    )


def cold_start(out: Console, cold: ColdStart) -> None:
    table = Table(
        title="Cold start: import time in a fresh interpreter", box=box.SIMPLE_HEAVY, title_justify="left"
    )
    table.add_column("import")
    table.add_column("median ms", justify="right")
    table.add_column("runs (ms)")
    table.add_row("app", f"{cold.app_median:.0f}", ", ".join(f"{v:.0f}" for v in cold.app_ms))
    table.add_row("boto3", f"{cold.boto3_median:.0f}", ", ".join(f"{v:.0f}" for v in cold.boto3_ms))
    out.print(table)
    verdict = PASS if cold.passed else FAIL
    out.print(f"Cold-start ratio app / boto3 = [bold]{cold.ratio:.2f}[/] (target ≤ {TARGET_RATIO}) {verdict}")
    loaded = [f"{pkg} ({n} module{'s' if n > 1 else ''})" for pkg, n in sorted(cold.loaded.items()) if n]
    absent = [pkg for pkg, n in sorted(cold.loaded.items()) if not n]
    out.print(f"`import app` loads: {', '.join(loaded) or '-'}")
    out.print(f"and not: {', '.join(absent) or '-'}\n")
    costs = Table(
        title=f"Third-party packages imported by project modules at import time (`-X importtime`, "
        f"one run, in which `import app` took {cold.total_ms:.0f} ms)",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
    )
    costs.add_column("package")
    costs.add_column("cumulative ms", justify="right")
    costs.add_column("imported by")
    for cost in cold.costs:
        costs.add_row(cost.package, f"{cost.ms:.1f}", cost.imported_by)
    out.print(costs)


def summary(out: Console, result: InProcessResult | None, cold: ColdStart | None) -> None:
    failed = []
    if result is not None:
        failed += [op.name for op in result.operations if op.passed() is False]
    if cold is not None and not cold.passed:
        failed.append("cold-start ratio")
    if failed:
        out.print(f"{FAIL}: {', '.join(failed)}")
    else:
        out.print(f"{PASS}: every target met")
