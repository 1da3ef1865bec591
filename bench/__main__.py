"""`python -m bench` (`make bench`): DynamoDB calls and time per API operation, virtual branches, content,
transfers and their stream consumers, participation scoring and the monthly filing, and the cold-start ratio.

Exits 0 whether or not the targets are met (FAIL is printed); 1 when the API or the call counter
does not work as the bench expects, since then there are no figures to trust.
"""

from __future__ import annotations

import argparse
import sys

from bench import env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-n", type=int, default=50, help="measured runs per operation (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured runs first (default 5)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per module (default 5)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurement")
    parser.add_argument("--no-api", action="store_true", help="skip the in-process API measurement")
    parser.add_argument("--no-content", action="store_true", help="skip the bulletins and feed measurement")
    parser.add_argument(
        "--no-transfers",
        action="store_true",
        help="skip the transfers and transfer-stream consumers measurement",
    )
    parser.add_argument(
        "--no-participation", action="store_true", help="skip the scoring and monthly filing measurement"
    )
    parser.add_argument(
        "--county-members",
        type=int,
        default=2_000,
        help="members of the county the filing measurement files (default 2000)",
    )
    args = parser.parse_args(argv)

    env.configure()  # before anything imports project code, boto3 or moto
    from bench.counting import CallCounter

    counter = CallCounter()
    counter.install()  # before any botocore client exists

    from bench import report
    from bench.operations import BenchError

    out = report.console()
    result = cold = None
    if not args.no_api:
        from bench import operations

        try:
            result = operations.run(counter, n=args.n, warmup=args.warmup)
        except BenchError as exc:
            out.print(f"[bold red]bench could not measure:[/] {exc}")
            return 1
        report.operations(out, result)
        from bench import branches

        try:
            branch_result = branches.run(counter, n=args.n, warmup=args.warmup)
        except BenchError as exc:
            out.print(f"[bold red]bench could not measure virtual branches:[/] {exc}")
            return 1
        branches.report(out, branch_result)
        result.operations += branch_result.checks()  # so the closing summary covers their targets
    content_result = None
    if not args.no_content:
        from bench import content

        try:
            content_result = content.run(counter, n=max(5, args.n // 2))
        except BenchError as exc:
            out.print(f"[bold red]bench could not measure content:[/] {exc}")
            return 1
        content.report(out, content_result)
    transfer_result = None
    if not args.no_transfers:
        from bench import transfers

        try:
            transfer_result = transfers.run(counter, n=max(10, args.n // 2), warmup=args.warmup)
        except BenchError as exc:
            out.print(f"[bold red]bench could not measure transfers:[/] {exc}")
            return 1
        transfers.report(out, transfer_result)
    participation_result = None
    if not args.no_participation:
        from bench import participation

        try:
            participation_result = participation.run(counter, members=args.county_members)
        except BenchError as exc:
            out.print(f"[bold red]bench could not measure participation:[/] {exc}")
            return 1
        participation.report(out, participation_result)
    if not args.no_cold:
        from bench import coldstart

        cold = coldstart.measure(args.cold_runs)
        report.cold_start(out, cold)
    report.summary(out, result, cold)
    if content_result is not None:
        content.summary(out, content_result)
    if transfer_result is not None:
        transfers.summary(out, transfer_result)
    if participation_result is not None:
        participation.summary(out, participation_result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
