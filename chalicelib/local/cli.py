"""`mmp`: small tools for the running local stack (`.venv/bin/mmp --help`).

The commands read `admin.json` from the local dir to find the stack, then act on its moto endpoint
from this process: a scheduled consumer fired here runs the same function the pump would call.
`mmp filing run --aws` acts on the AWS account and stage of the environment instead (`MMP_STAGE`,
`MMP_TABLE_PREFIX`, the usual AWS credentials), where the deployed job consumer does the work.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from chalicelib.local.bootstrap import local_dir, read_admin_file

app = typer.Typer(name="mmp", help="Tools for the local stack started with `make run`.", no_args_is_help=True)
schedule_app = typer.Typer(help="Scheduled consumers.", no_args_is_help=True)
bulletin_app = typer.Typer(help="Bulletins in the content bucket.", no_args_is_help=True)
filing_app = typer.Typer(help="The monthly participation filing.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
app.add_typer(bulletin_app, name="bulletin")
app.add_typer(filing_app, name="filing")


def _connect() -> dict[str, Any]:
    """Point this process at the running local stack, or exit with a hint."""
    import requests

    from chalicelib.local.env import export_stream_arns, use_saved_stack

    info = read_admin_file()
    if not info.get("aws_endpoint"):
        typer.echo(f"no local stack found ({local_dir() / 'admin.json'}): start it with `make run`", err=True)
        raise typer.Exit(1)
    try:
        requests.get(info["aws_endpoint"], timeout=2)
    except requests.RequestException:
        typer.echo(f"nothing answers at {info['aws_endpoint']}: is `make run` running?", err=True)
        raise typer.Exit(1) from None
    use_saved_stack(info)
    export_stream_arns()
    return info


def _schedules(chalice_app: Any) -> list[Any]:
    from chalice.app import ScheduledEventConfig

    return [s for s in chalice_app.event_sources if isinstance(s, ScheduledEventConfig)]


@schedule_app.command("list")
def schedule_list() -> None:
    """List the scheduled consumers with their expressions and next UTC firing time."""
    from chalicelib.local.cron import parse_schedule
    from chalicelib.local.env import load_app

    now = datetime.now(UTC)
    for config in _schedules(load_app()):
        expression = config.schedule_expression
        text = expression if isinstance(expression, str) else expression.to_string()
        due = parse_schedule(text, anchor=now).next_after(now)
        typer.echo(f"{config.name}\t{text}\tnext {due.isoformat() if due else 'never'}")


@schedule_app.command("fire")
def schedule_fire(name: Annotated[str, typer.Argument(help="The scheduled consumer's name.")]) -> None:
    """Fire a scheduled consumer once, now, against the running local stack."""
    from chalicelib.local.env import load_app
    from chalicelib.local.pump import fire_schedule

    _connect()
    chalice_app = load_app()
    try:
        result = fire_schedule(chalice_app, name)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, default=str) if result is not None else f"fired {name}")


@bulletin_app.command("upload")
def bulletin_upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The edition's JSON file.")],
    scope: Annotated[str, typer.Option(help="`central` or a department's division code.")] = "central",
) -> None:
    """Upload an edition file to `bulletins/{scope}/{edition_id}.json` in the local content bucket."""
    from chalicelib.store.clients import client

    try:
        edition_id = json.loads(file.read_text(encoding="utf-8"))["edition_id"]
    except (ValueError, KeyError, TypeError):
        typer.echo("the file must be JSON with an `edition_id`", err=True)
        raise typer.Exit(2) from None
    info = _connect()
    key = f"bulletins/{scope}/{edition_id}.json"
    client("s3").put_object(
        Bucket=info["content_bucket"], Key=key, Body=file.read_bytes(), ContentType="application/json"
    )
    typer.echo(f"uploaded s3://{info['content_bucket']}/{key}")


@app.command("seed")
def seed(
    aws: Annotated[
        bool, typer.Option(help="Seed the AWS stage of the environment (the first deployment).")
    ] = False,
    admin_password_file: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Also create the central administrator with this password."
        ),
    ] = None,
) -> None:
    """Write the department tree, the founding texts and the scoring rules (again: nothing changes)."""
    from chalicelib.services.seed import seed_platform

    if not aws:
        _connect()
    password = admin_password_file.read_text(encoding="utf-8").strip() if admin_password_file else None
    done = seed_platform(password)
    typer.echo(json.dumps(done, ensure_ascii=False))


@filing_app.command("run")
def filing_run(
    month: Annotated[str, typer.Option(help="The month to file, YYYY-MM (a month that has ended).")],
    org_id: Annotated[str, typer.Option(help="File this department's subtree only.")] = "central",
    force: Annotated[bool, typer.Option(help="Start even while another run of the month is going.")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the run with a progress bar until it is done.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the run before giving up.")] = 3600,
    aws: Annotated[
        bool, typer.Option(help="Act on AWS (the environment's stage), not the local stack.")
    ] = False,
) -> None:
    """Start the filing of MONTH (one queued job per department) and follow it to the end."""
    from chalicelib.domain.errors import DomainError
    from chalicelib.services.monthly_filing import start

    if not aws:
        _connect()
    try:
        started = start(month, org_id, requested_by="cli", force=force)
    except DomainError as exc:
        typer.echo(f"{exc}: {json.dumps(getattr(exc, 'errors', []), ensure_ascii=False)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"filing {started['month']} run {started['run']}: {started['departments']} departments")
    if wait and not _follow(started, timeout):
        raise typer.Exit(1)


@filing_app.command("status")
def filing_status(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    aws: Annotated[
        bool, typer.Option(help="Ask AWS (the environment's stage), not the local stack.")
    ] = False,
) -> None:
    """Print the month's latest run: departments filed out of all, status, times."""
    from chalicelib.services.monthly_filing import progress

    if not aws:
        _connect()
    found = progress(month)
    if found is None:
        typer.echo(f"no filing of {month} yet", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(found, ensure_ascii=False))


def _follow(started: dict, timeout: float) -> bool:
    """A progress bar over the run's departments until all are filed; False when it gave up."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from chalicelib.services.monthly_filing import progress

    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("filing {task.fields[month]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task("filing", total=started["departments"], month=started["month"])
        while time.monotonic() < deadline:
            now = progress(started["month"]) or {}
            if now.get("run") != started["run"]:
                bar.stop()
                typer.echo("a newer run of this month took over", err=True)
                return False
            bar.update(task, completed=int(now.get("finished") or 0))
            if now.get("status") == "complete":
                break
            time.sleep(0.5)
        else:
            bar.stop()
            typer.echo(f"still running after {timeout:.0f} s: `mmp filing status --month ...`", err=True)
            return False
    typer.echo(f"filed {started['month']}: {started['departments']} departments")
    return True


def main() -> None:
    """Entry point of `mmp`."""
    app(prog_name="mmp")


if __name__ == "__main__":
    main()
