"""Runs the demo's steps in order, shows progress, and keeps what each step verified and how long it
took. A step passes only when its check returns; the first failure stops the story (later steps
would only fail for the same reason) and the exit code says so."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


class NotVerified(Exception):
    """A step ran but what it should have shown is not there."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise NotVerified(what)


@dataclass
class StepResult:
    name: str
    status: str  # verified | failed | skipped
    verified: str
    seconds: float


class StepRunner:
    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.results: list[StepResult] = []

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.status == "verified" for r in self.results)

    def run(self, steps: list[tuple[str, Callable[[], str]]]) -> bool:
        failed = False
        for index, (name, step) in enumerate(steps, 1):
            if failed:
                self.results.append(StepResult(name, "skipped", "an earlier step failed", 0.0))
                continue
            start = time.monotonic()
            with self.console.status(f"[bold]{index}/{len(steps)}[/bold] {name} …", spinner="dots"):
                try:
                    verified = step()
                    status = "verified"
                except Exception as exc:  # a demo step reports every failure and goes no further
                    verified = f"{type(exc).__name__}: {exc}"
                    status = "failed"
                    failed = True
                    self.console.print(traceback.format_exc(limit=6), style="dim", markup=False, highlight=False)
            seconds = time.monotonic() - start
            self.results.append(StepResult(name, status, verified, seconds))
            mark = "[green]✔[/green]" if status == "verified" else "[red]✘[/red]"
            self.console.print(f"{mark} {index}/{len(steps)} {name} ({seconds:.1f} s): {verified}",
                               highlight=False)
        return self.ok

    def summary(self) -> Table:
        table = Table(title="tfpipe demo")
        for column in ("step", "result", "what was verified", "seconds"):
            table.add_column(column)
        for result in self.results:
            colour = {"verified": "green", "failed": "red", "skipped": "yellow"}[result.status]
            table.add_row(result.name, f"[{colour}]{result.status}[/{colour}]", result.verified,
                          f"{result.seconds:.1f}")
        table.add_row("total", "", "", f"{sum(r.seconds for r in self.results):.1f}")
        return table
