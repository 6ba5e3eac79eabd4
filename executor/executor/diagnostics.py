"""Terraform's own `Error:` blocks, read from what a command printed.

The executor runs Terraform with `-no-color`, where every diagnostic is a block of its own:

    Error: Invalid expression

      on main.tf line 7, in resource "terraform_data" "greeting":
       7:   triggers_replace =

    Expected the start of an expression, but found an invalid expression token.

A block runs until the next `Error:` or `Warning:` block, or the end of the output. The same blocks
drawn in a box (`╷ │ Error: … ╵`, what Terraform prints before it has read `-no-color`) are read too.
The human text is read rather than `-json` diagnostics because every command the executor runs
already prints it, in the log and the plan text people read, and `-json` would change both.
"""

from __future__ import annotations

import re

from chalicelib.core.failure_cause import Diagnostic

_HEADER = re.compile(r"^(Error|Warning): ?(.*)$")
_LOCATION = re.compile(r"^\s+on (?P<file>.+?) line (?P<line>\d+)\b")
_BOX_EDGES = ("╷", "╵")


def terraform_errors(output: str) -> list[Diagnostic]:
    """Every `Error:` block of `output`, in Terraform's order (unmasked: the caller masks)."""
    found: list[Diagnostic] = []
    block: list[str] | None = None
    for raw in output.splitlines():
        line = raw[2:] if raw.startswith("│ ") else raw.removeprefix("│")
        if line.strip() in _BOX_EDGES:
            _close(block, found)
            block = None
            continue
        header = _HEADER.match(line)
        if header:
            _close(block, found)
            block = [line] if header[1] == "Error" else None
        elif block is not None:
            block.append(line)
    _close(block, found)
    return found


def _close(block: list[str] | None, found: list[Diagnostic]) -> None:
    if not block:
        return
    text = "\n".join(block).strip("\n")
    summary = block[0].removeprefix("Error:").strip()
    location = next((m for m in map(_LOCATION.match, block[1:]) if m), None)
    found.append(Diagnostic(summary=summary, text=text, file=location["file"] if location else None,
                            line=int(location["line"]) if location else None))
