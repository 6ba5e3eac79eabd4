"""`tfpipe demo`: start the embedded stack, tell the story, print the audit trail and a summary.
Exit code 0 only when every step was verified."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console

from tfpipe.commands.common import print_rows
from tfpipe.commands.history import history_rows
from tfpipe.demo.steps import StepRunner
from tfpipe.demo.story import REPO_ROOT, REPOSITORY, Story
from tfpipe.demo.waiting import Waiter

# What the story needs to show fits a terminal; `tfpipe history prod` prints every column.
DEMO_HISTORY_COLUMNS = ["finished_at", "action", "commit", "result", "approver", "error_class"]
# The demo moves a TTL to seconds and must see the schedule fire: bounds that allow it on this stack.
DEMO_SETTINGS = {"TFPIPE_TTL_MIN": "10s", "TFPIPE_LOCK_WAIT": "2s", "TFPIPE_GITHUB_SECONDS_BETWEEN_WRITES": "0"}


def terraform_cli_config() -> None:
    """Jobs run Terraform with this checkout's CLI configuration (`make install` writes it) unless the
    caller points at one that exists."""
    configured = os.environ.get("TF_CLI_CONFIG_FILE")
    local = REPO_ROOT / ".tfpipe" / "terraform.rc"
    if (not configured or not Path(configured).exists()) and local.exists():
        os.environ["TF_CLI_CONFIG_FILE"] = str(local)


@contextlib.contextmanager
def quiet_logs(log_file: Path) -> Iterator[None]:
    """The stack's and the pipeline's log lines go to a file, so the terminal shows the story; the
    loggers are given back as they were (a demo run inside a test must not swallow later tests' logs)."""
    from chalicelib import logs

    handler = logging.FileHandler(log_file)
    handler.setFormatter(logs.JsonFormatter())
    logs.configure()
    loggers = (logging.getLogger(), logging.getLogger(logs.LOGGER), logging.getLogger("werkzeug"))
    before = [(logger.handlers, logger.level) for logger in loggers]
    for logger in loggers:
        logger.handlers = [handler]
    logging.getLogger().setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, (handlers, level) in zip(loggers, before, strict=True):
            logger.handlers = handlers
            logger.setLevel(level)
        handler.close()


def run_demo(state_dir: Path, console: Console, timeout: float = 240, keep: bool = False) -> bool:
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    terraform_cli_config()
    with quiet_logs(state_dir / "stack.log"):
        return _run_story(state_dir, console, timeout, keep)


def _run_story(state_dir: Path, console: Console, timeout: float, keep: bool) -> bool:
    from tfpipe.local.stack import Stack

    console.print(f"the embedded stack's logs: {state_dir / 'stack.log'}")
    runner = StepRunner(console)
    waiter = Waiter(say=lambda text: console.print(f"    … {text}", style="dim", markup=False, highlight=False))
    with console.status("starting the embedded stack …"), \
            Stack(state_dir=state_dir, provision=True, extra_env=DEMO_SETTINGS) as stack:
        console.print(f"embedded stack up: {', '.join(f'{k} {v}' for k, v in stack.endpoints.items())}")
        story = Story(stack, state_dir / "work", timeout=timeout, waiter=waiter)
        (state_dir / "work").mkdir()
        runner.run(story.steps())
        if story.notes.get("history"):
            print_rows(history_rows(story.notes["history"], full=False), DEMO_HISTORY_COLUMNS, False,
                       "audit trail of prod (branch tfpipe-audit)")
        console.print(runner.summary())
        console.print("[green]demo verified[/green]" if runner.ok else "[red]demo failed: see the summary[/red]")
        for line in how_to_explore(state_dir, keep, stack.endpoints["github"], story.notes.get("pr"),
                                   story.notes.get("prod_url"), story.checkout):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if keep:
            _until_stopped()
    return runner.ok


def how_to_explore(state_dir: Path, kept: bool, github: str, pull_request: int | None = None,
                   prod_url: str | None = None, checkout: Path | None = None) -> list[str]:
    """What to do next: leave the stack up (--keep); once it is, its pull request pages, the app, the CLI."""
    if not kept:
        return ["to keep exploring, leave the stack up when the story ends: `tfpipe demo --keep` "
                "(`make demo DEMO_ARGS=--keep`); it then prints the pull request pages' address"]
    where = f" --state-dir {state_dir}"
    return [
        "the stack stays up until Ctrl-C; to keep exploring:",
        f"  pull request pages: {github}/"
        + (f" (the demo's pull request: {github}/{REPOSITORY}/pull/{pull_request})" if pull_request else ""),
        *([f"  the app on prod: {prod_url}"] if prod_url else []),
        f"  runs: tfpipe runs{where}; then tfpipe show <run>{where}; tfpipe history prod{where}",
        *([f"  more commits: push from {checkout} (pushes send webhooks); tfpipe pr ...{where}"] if checkout else []),
        f"  the AWS CLI and Terraform against it: eval \"$(tfpipe local env{where})\"",
    ]


def _until_stopped() -> None:
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("demo")
@click.option("--state-dir", type=click.Path(file_okay=False), default=".tfpipe/demo", show_default=True,
              help="Where the demo's stack keeps its state (wiped at the start).")
@click.option("--timeout", type=float, default=240, show_default=True, help="Seconds each run may take.")
@click.option("--keep", is_flag=True, help="Leave the stack up when the story ends (until Ctrl-C), to explore it.")
def demo(state_dir: str, timeout: float, keep: bool) -> None:
    """Run the whole GitOps story on the embedded stack and verify every step."""
    ok = run_demo(Path(state_dir).resolve(), Console(), timeout, keep)
    sys.exit(0 if ok else 1)
