"""What every subcommand shares: finding the pipeline, printing listings, failing clearly."""

from __future__ import annotations

import functools
import getpass
import json
import subprocess
from collections.abc import Callable

import click
from rich import box
from rich.console import Console
from rich.table import Table

from chalicelib.core.errors import PipelineError
from chalicelib.settings import SettingsError
from tfpipe.operations import Operator, OperatorError
from tfpipe.started import run_line
from tfpipe.target import Target, TargetError

console = Console()
state_dir_option = click.option("--state-dir", type=click.Path(file_okay=False), default=None,
                                help="The embedded stack's state directory (default $TFPIPE_STATE_DIR, which "
                                     "`tfpipe local env` exports, else .tfpipe/ when its stack.json exists; "
                                     "otherwise AWS through TFPIPE_API_URL and TFPIPE_*).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def operator(state_dir: str | None) -> Operator:
    return Operator(Target.resolve(state_dir))


def failing_clearly(command: Callable) -> Callable:
    """Domain and connection errors become one line on stderr and exit code 1, not a traceback."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (OperatorError, TargetError, PipelineError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def actor_email() -> str:
    try:
        email = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        email = ""
    return email or f"{getpass.getuser()}@localhost.localdomain"


def print_rows(rows: list[dict], columns: list[str], as_json: bool, title: str, whole: tuple[str, ...] = ()) -> None:
    """A table (or JSON). Columns in `whole` keep each value on one line (ids people copy); the others
    wrap in a narrow terminal, never cut."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        values = ["" if row.get(column) is None else str(row.get(column)) for row in rows]
        if column in whole:
            table.add_column(column, no_wrap=True, min_width=max([len(column), *map(len, values)]))
        else:  # wrapped between words where it can (a date stays whole above its time)
            longest_word = max((len(word) for value in values for word in value.split()), default=0)
            table.add_column(column, overflow="fold", min_width=min(longest_word, 10))
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)


def answer(result, what: str) -> list[dict]:
    """Print an API answer and the runs it started; exit non-zero when the pipeline refused."""
    if result.status >= 400:
        fields = result.body.get("fields") or []
        if fields:  # the message lists these same fields: say each once, one a line
            raise click.ClickException(f"{what}:" + "".join(
                f"\n  {f['field']}: got {f['got']!r}; accepted: {f['accepted']}" for f in fields))
        raise click.ClickException(f"{what}: {result.body.get('message', result.body)}")
    click.echo(result.body.get("message", ""))
    runs = result.body.get("runs", [])
    for run in runs:
        click.echo(f"  {run_line(run)}")
    return runs
