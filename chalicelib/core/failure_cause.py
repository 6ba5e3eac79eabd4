"""Why a job failed, as SendTaskFailure's cause carries it (DESIGN.md section 3, Terraform jobs): the
executor's message, Terraform's own `Error:` blocks (its diagnostics), the job's log artifact and the
log's last lines. The cause is this document as JSON; the workflows Catch it into `$.error.Cause`,
the status task turns it into the run's failure status, and `tfpipe show` reads it from the history.

Everything in it is masked by the executor before it leaves the job, and bounded: Step Functions caps
a cause at 32,768 characters, and a PR comment must stay readable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

MAX_DIAGNOSTICS = 3  # the first few errors say what is wrong; the log has the rest
MAX_DIAGNOSTICS_CHARS = 1500  # all blocks together
MAX_MESSAGE_CHARS = 2000
MAX_LOG_TAIL_CHARS = 6000
CUT = "\n[… cut; the log has the rest]"


@dataclass(frozen=True)
class Diagnostic:
    """One of Terraform's `Error:` blocks: its summary, where it points, and the block as printed."""

    summary: str
    text: str  # the whole block, `Error: <summary>` first (location, source lines, detail)
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str | None:
        """`main.tf:7`, when Terraform named a place."""
        if not self.file:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Diagnostic | None:
        """A diagnostic read from a cause or a status event; None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return None
        line = data.get("line")
        return cls(summary=str(data.get("summary") or ""), text=data["text"],
                   file=str(data["file"]) if data.get("file") else None,
                   line=line if isinstance(line, int) and not isinstance(line, bool) else None)


def diagnostics_of(data: object) -> list[Diagnostic]:
    """The diagnostics in a list of dicts (a status event's `details.diagnostics`), bounded."""
    if not isinstance(data, list):
        return []
    return trimmed([d for d in (Diagnostic.from_dict(item) for item in data) if d is not None])


def most_telling(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The ones that name a place in the configuration first (Terraform's init prints a generic
    preamble error before them), in Terraform's order otherwise."""
    return [d for d in diagnostics if d.file] + [d for d in diagnostics if not d.file]


def trimmed(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The `most_telling` MAX_DIAGNOSTICS blocks in at most MAX_DIAGNOSTICS_CHARS characters; a block
    over the budget is cut, saying so."""
    kept, room = [], MAX_DIAGNOSTICS_CHARS
    for diagnostic in most_telling(diagnostics)[:MAX_DIAGNOSTICS]:
        if room <= len(CUT):
            break
        text = diagnostic.text.strip("\n")
        if len(text) > room:
            text = text[: room - len(CUT)].rstrip() + CUT
        kept.append(Diagnostic(diagnostic.summary[:300], text, diagnostic.file, diagnostic.line))
        room -= len(text)
    return kept


@dataclass(frozen=True)
class JobFailureCause:
    message: str  # what was being done and how it failed
    diagnostics: list[Diagnostic] = field(default_factory=list)
    log: str | None = None  # the job's log artifact (an S3 key)
    log_tail: str = ""  # the log's last lines

    def to_json(self) -> str:
        data = {"message": self.message if len(self.message) <= MAX_MESSAGE_CHARS
                else self.message[: MAX_MESSAGE_CHARS - 1] + "…",
                "diagnostics": [d.to_dict() for d in trimmed(self.diagnostics)],
                "log": self.log, "log_tail": _tail(self.log_tail, MAX_LOG_TAIL_CHARS)}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def parse(cls, cause: object) -> JobFailureCause | None:
        """The cause a job failed its task with; None for any other cause (Batch's "job died", a task
        Lambda's error payload, a plain text from an older executor)."""
        try:
            data = json.loads(str(cause))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("message"), str) or "diagnostics" not in data:
            return None
        log = data.get("log")
        return cls(message=data["message"], diagnostics=diagnostics_of(data["diagnostics"]),
                   log=log if isinstance(log, str) and log else None, log_tail=str(data.get("log_tail") or ""))


def _tail(text: str, limit: int) -> str:
    """The end of a text, where an error usually is."""
    return text if len(text) <= limit else "…" + text[-(limit - 1):]
