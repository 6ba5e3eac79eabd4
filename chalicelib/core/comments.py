"""Pull request comments: one per pull request and workflow (one per run for CUSTOM: each `/terraform`
request gets its own reply), found again by a hidden marker and updated in place as the run moves.

A comment is a head (status, summary table, outputs, artifact links, how to approve) followed by
long texts (the plan, a command's output, an error) in collapsible `<details>` blocks. When that
does not fit GitHub's 65,536-character limit the long texts continue in further comments; every
part is whole Markdown on its own (each chunk has its own `<details>` and code fence) and nothing
is dropped: the chunks, joined, are the original text.

The plan is shown as a ```diff (see plan_diff.py: Terraform's markers in the first column, refresh
lines dropped), after a list of the changed resources by address with their action; every time the
comment states is in one format (timestamps.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.core.failure_cause import diagnostics_of
from chalicelib.core.fanout import comment_run, environment_url
from chalicelib.core.plan_diff import as_diff
from chalicelib.core.plan_summary import PlanSummary
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.core.timestamps import display_time, display_times_in
from chalicelib.core.workflows import Workflow

MAX_COMMENT_CHARS = 65_536
MESSAGE_INLINE_CHARS = 500  # a longer message goes into a block of its own rather than the head
_CONTINUATION_RESERVE = 300  # room for a continuation part's head and any part's footer
RESOURCES_SHOWN_OPEN = 10  # a longer list of changed resources is collapsed
RESOURCE_LIST_CHARS = 12_000  # the list's share of the first comment; the rest is in the full plan
# How each kind of change (plan_summary.KINDS) is marked in the list: the plan's own diff markers.
_KIND_MARKERS = {"add": "+", "change": "!", "destroy": "-", "replace": "-/+"}

ICONS: dict[Status, str] = {
    Status.STARTED: "⏳", Status.PENDING: "⏸️", Status.SUCCEEDED: "✅", Status.FAILED: "❌",
    Status.REJECTED: "🚫", Status.TIMED_OUT: "⌛", Status.SUPERSEDED: "⏭️", Status.ROLLED_BACK: "↩️",
    Status.NEEDS_ATTENTION: "🚨",
}
FAILURES = frozenset({Status.FAILED, Status.TIMED_OUT, Status.ROLLED_BACK, Status.NEEDS_ATTENTION})
ARTIFACT_TITLES: dict[str, str] = {"plan": "plan file", "plan_json": "plan JSON", "plan_text": "plan text",
                                   "log": "log", "failed_log": "log of the failed job", "output": "output"}
_ARTIFACT_ORDER = {name: i for i, name in enumerate(ARTIFACT_TITLES)}


@dataclass(frozen=True)
class LongText:
    title: str  # the <summary> of its <details>
    text: str
    language: str = "text"  # the code fence's info string


@dataclass(frozen=True)
class CommentView:
    """Everything one comment shows; the fan-out gathers it (plan text and JSON come from S3)."""

    event: StatusEvent
    summary: PlanSummary | None = None
    plan_text: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # artifact name -> URL (or an S3 key)
    output_text: str | None = None  # a CUSTOM run's terraform output (its `output` artifact)


def marker(workflow: str, run_id: str | None = None) -> str:
    """The hidden line that identifies the comments of one workflow (or one run of it) on a pull request."""
    run = f" run={_safe_word(run_id)}" if run_id else ""
    return f"<!-- tfpipe:comment workflow={_safe_word(workflow)}{run} -->"


def event_marker(event: StatusEvent) -> str:
    """The marker of the comment `event` updates."""
    return marker(event.workflow, comment_run(event))


def untrusted_marker(sha: str) -> str:
    """The hidden line of the one comment that asks a writer to trust head `sha` of a pull request."""
    return f"<!-- tfpipe:untrusted sha={_safe_word(sha)} -->"


def untrusted_pull_request(repository: str, number: int, sha: str, why: str) -> str:
    """The reply to a pull request whose code nobody with write access vouched for: nothing ran, and
    how a writer trusts this head. The marker comes first, so the comment is never read as a command."""
    return "\n".join([
        untrusted_marker(sha),
        f"**tfpipe ran nothing for `{_code(sha[:7])}`**: this pull request {_inline(why)}, and planning or "
        "previewing it would run its code with the pipeline's credentials.",
        "",
        f"A user with write access to {_inline(repository)} who has read the changes can comment `/plan` to "
        f"trust this head, `{_code(sha)}`, and plan it read-only (nothing is applied), and `/ephemeral` to "
        f"build its preview environment `pr-{number}`. A new push needs a new `/plan`.",
    ])


def render(view: CommentView, limit: int = MAX_COMMENT_CHARS) -> list[str]:
    """The comment bodies, in order; each at most `limit` characters."""
    head = _head(view)
    texts = _long_texts(view)
    parts = _pack(head, texts, view.event, limit)
    total = len(parts)
    bodies = []
    for number, (body, more) in enumerate(parts, start=1):
        body = body.replace(_PART_PLACEHOLDER_SUFFIX, f" · part {number} of {total}" if total > 1 else "")
        if more:
            body += "\n_Continued in the next comment._\n"
        if len(body) > limit:  # a bug here must never become a cut comment
            raise ValueError(f"rendering comment part {number}: {len(body)} characters exceeds {limit}")
        bodies.append(body)
    return bodies


# -- head ----------------------------------------------------------------------------------------

# Where "part k of n" goes once the number of parts is known (never left in a body).
_PART_PLACEHOLDER_SUFFIX = " · \x00part\x00"


def _title(event: StatusEvent) -> str:
    icon = ICONS.get(event.status, "")
    return (f"### {icon} tfpipe {_workflow_title(event.workflow)} · `{_code(event.environment)}` · "
            f"`{_code(event.sha[:7])}`")


def _head(view: CommentView) -> str:
    event = view.event
    lines = [event_marker(event), _title(event), ""]
    status_line = f"**{_phase_status(event)}**"
    if event.message and len(event.message) <= MESSAGE_INLINE_CHARS:
        status_line += f" — {_inline(display_times_in(event.message))}"
    lines += [status_line, ""]
    if event.status in FAILURES:
        lines += _failure_lines(view)
    lines += _summary_lines(view)
    lines += _outputs_lines(event)
    if event.phase == Phase.APPROVAL and event.status == Status.PENDING:
        lines += _approval_lines(event)
    lines += _link_lines(view.links)
    lines += [f"<sub>run `{_code(event.run_id)}` · by {_inline(event.actor)} · updated {_time(event.timestamp)}"
              f"{_PART_PLACEHOLDER_SUFFIX}</sub>", ""]
    return "\n".join(lines)



def _phase_status(event: StatusEvent) -> str:
    if event.phase == Phase.DONE:
        return event.status.value.replace("-", " ").capitalize()
    return f"{event.phase.value.capitalize()} {event.status.value.replace('-', ' ')}"


def _failure_lines(view: CommentView) -> list[str]:
    """The error class, a link to the failed job's whole log, and Terraform's own error blocks (file
    and line included), where a reader looks first."""
    details = view.event.details
    said = []
    if details.get("error_class"):
        said.append(f"Error: `{_code(str(details['error_class']))}`")
    log = view.links.get("failed_log") or view.links.get("log")
    if log:
        said.append(_artifact_link("full log", log))
    lines = [" · ".join(said), ""] if said else []
    diagnostics = diagnostics_of(details.get("diagnostics"))
    if diagnostics:
        text = _printable("\n\n".join(d.text for d in diagnostics))
        fence = _fence_for(text)
        lines += [f"{fence}text", text, fence, ""]
    return lines


def _summary_lines(view: CommentView) -> list[str]:
    summary = view.summary
    if view.event.workflow == Workflow.CUSTOM.value:
        return []  # a CUSTOM job plans nothing: its zero counts would only be noise under its output
    if summary is None:
        counts = {k: view.event.details.get(k) for k in ("add", "change", "destroy")}
        if all(isinstance(v, int) for v in counts.values()):
            return [f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy.", ""]
        return []
    if not summary.has_changes:
        return ["**No changes.** The infrastructure matches the configuration.", ""]
    lines = ["| Resource type | Add | Change | Destroy | Replace |", "|---|---:|---:|---:|---:|"]
    lines += [f"| `{_code(r.type)}` | {r.add} | {r.change} | {r.destroy} | {r.replace} |" for r in summary.rows]
    lines += ["", f"Plan: {summary.headline}", ""]
    if summary.output_changes:
        lines += ["Outputs changing: " + ", ".join(f"`{_code(o)}`" for o in summary.output_changes), ""]
    return lines + _resource_lines(summary)


def _resource_lines(summary: PlanSummary) -> list[str]:
    """Each changed resource by address with its action, marked like the plan; collapsed when long,
    and cut (saying how many are left out) before it could crowd the plan out of the first comment."""
    count = len(summary.resources)
    if not count:
        return []
    listing, used = [], 0
    for resource in summary.resources:
        line = f"{_KIND_MARKERS[resource.kind]:<4}{resource.kind:<9}{resource.address}\n"
        if used + len(line) > RESOURCE_LIST_CHARS:
            listing.append(f"... and {count - len(listing)} more: every one is in the full plan\n")
            break
        listing.append(line)
        used += len(line)
    text = "".join(listing)
    fence = _fence_for(text)
    if count <= RESOURCES_SHOWN_OPEN:
        return [f"Changed resources ({count}):", "", f"{fence}diff", text + fence, ""]
    return [_block(f"Changed resources ({count})", text, fence, 0, 0, whole=True, language="diff")]


def _outputs_lines(event: StatusEvent) -> list[str]:
    lines = []
    url = environment_url(event)
    if url:
        lines.append(f"Environment URL: {_url(url)}")
    expires = event.details.get("expires_at")
    if expires:
        lines.append(f"Expires: {_time(expires)} (move it with `/ttl 8h`, end it now with `/destroy`)")
    if lines:
        lines.append("")
    outputs = event.details.get("outputs") or {}
    if isinstance(outputs, dict) and outputs:
        lines += ["| Output | Value |", "|---|---|"]
        lines += [f"| `{_code(str(k))}` | `{_code(_cell(v))}` |" for k, v in sorted(outputs.items())]
        lines.append("")
    return lines


def _approval_lines(event: StatusEvent) -> list[str]:
    custom = event.details.get("approval")
    if custom:
        return [f"**Approval needed.** {_inline(str(custom))}", ""]
    run = _code(event.run_id)
    expires = event.details.get("approval_expires_at")
    what = "destroy plan" if event.workflow == Workflow.DESTROY.value else "plan"  # a destroy reads as one
    plan = event.details.get("plan_sha256")
    lines = [f"**Approval needed** before this {what} is applied to "
             f"`{_code(event.environment)}` (exactly this plan file, nothing re-planned).",
             "",
             *([f"- plan sha256: `{_code(str(plan))}` (an approval approves this plan only)"] if plan else []),
             f"- approve: comment `/approve {run}` (write access to the repository required)",
             f"- reject: comment `/reject {run}`",
             f"- from a terminal: `tfpipe approve {run}` or `tfpipe reject {run}`"]
    if expires:
        lines.append(f"- unanswered, the approval times out at {_time(expires)} and nothing is applied")
    return [*lines, ""]


def _link_lines(links: dict[str, str]) -> list[str]:
    if not links:
        return []
    shown = [_artifact_link(ARTIFACT_TITLES.get(name, name.replace("_", " ")), target)
             for name, target in sorted(links.items(), key=lambda item: (_ARTIFACT_ORDER.get(item[0], 99), item[0]))]
    return ["Artifacts: " + " · ".join(shown), ""]


def _artifact_link(title: str, target: str) -> str:
    """A link when the artifact has a URL; its S3 key otherwise."""
    return f"[{_inline(title)}]({_url(target, bare=True)})" if _is_url(target) else f"{_inline(title)}: `{_code(target)}`"


# -- long texts and splitting --------------------------------------------------------------------

def _long_texts(view: CommentView) -> list[LongText]:
    event = view.event
    texts = []
    if event.message and len(event.message) > MESSAGE_INLINE_CHARS:
        texts.append(LongText("Message", event.message))
    error = event.details.get("error")
    if error:
        texts.append(LongText("Error output", str(error)))
    if view.plan_text:
        texts.append(LongText("Full plan", as_diff(view.plan_text), "diff"))
    output = view.output_text or event.details.get("output")
    if output:
        texts.append(LongText("Command output", str(output)))
    return texts


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(title: str, chunk: str, fence: str, first_line: int, last_line: int, whole: bool,
           language: str = "text") -> str:
    where = "" if whole else f" (lines {first_line} to {last_line})"
    ending = "" if chunk.endswith("\n") else "\n"
    return (f"<details><summary>{_inline(title)}{where}</summary>\n\n{fence}{language}\n{chunk}{ending}{fence}\n\n"
            "</details>\n")


def _block_overhead(title: str, fence: str, language: str) -> int:
    return len(_block(title, "", fence, 10**7, 10**7, whole=False, language=language)) + 1


def _pack(head: str, texts: list[LongText], event: StatusEvent, limit: int) -> list[tuple[str, bool]]:
    """Fill parts in order: the head, then each long text, split on line boundaries where needed."""
    continuation = "\n".join([event_marker(event), _title(event) + " · continued", "",
                              f"<sub>run `{_code(event.run_id)}`{_PART_PLACEHOLDER_SUFFIX}</sub>", ""])
    parts: list[str] = [head]
    for long in texts:
        fence = _fence_for(long.text)
        overhead = _block_overhead(long.title, fence, long.language)
        pieces = _chunks(long.text, lambda used, o=overhead: limit - _CONTINUATION_RESERVE - used - o,
                         parts, continuation)
        whole = len(pieces) == 1
        line = 1
        for index, (part_index, chunk) in enumerate(pieces):
            count = chunk.count("\n") + (0 if chunk.endswith("\n") else 1)
            title = long.title if whole else f"{long.title} ({index + 1}/{len(pieces)})"
            parts[part_index] += "\n" + _block(title, chunk, fence, line, line + count - 1, whole, long.language)
            line += chunk.count("\n")
    return [(p, i < len(parts) - 1) for i, p in enumerate(parts)]


def _chunks(text: str, room, parts: list[str], continuation: str) -> list[tuple[int, str]]:
    """Cut `text` into (part index, chunk) pieces, opening continuation parts as the current one fills."""
    pieces: list[tuple[int, str]] = []
    current = ""
    for line in _lines_that_fit(text, room(len(continuation))):
        if len(current) + len(line) > room(len(parts[-1])):
            if current:
                pieces.append((len(parts) - 1, current))
            parts.append(continuation)
            current = ""
        current += line
    pieces.append((len(parts) - 1, current))
    return pieces


def _lines_that_fit(text: str, room: int) -> list[str]:
    """Lines with their endings; a line longer than a whole comment is cut into pieces (never dropped)."""
    if room <= 0:
        raise ValueError("rendering comment: the head leaves no room for any text")
    out = []
    for line in text.splitlines(keepends=True):
        while len(line) > room:
            out.append(line[:room])
            line = line[room:]
        out.append(line)
    return out


# -- inline escaping -----------------------------------------------------------------------------

def _workflow_title(workflow: str) -> str:
    try:
        return Workflow(workflow).title
    except ValueError:
        return _inline(workflow)


def _safe_word(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


def _inline(text: str) -> str:
    """User-controlled text on one line of Markdown: no HTML, no line breaks, no stray emphasis."""
    flat = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", flat)


def _code(text: str) -> str:
    """Text inside a single-backtick code span: backticks and line breaks cannot survive there."""
    return " ".join(str(text).replace("`", "'").split()).replace("|", "\\|")


def _printable(text: str) -> str:
    """Text for a code block: tabs as spaces, no other control characters."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text.replace("\t", "    "))


def _time(value) -> str:
    """A time the pipeline wrote (ISO 8601), in the one format comments show times in."""
    return _inline(display_time(str(value)))


def _cell(value) -> str:
    return value if isinstance(value, str) else repr(value)


def _is_url(target: str) -> bool:
    return target.startswith(("https://", "http://"))


def _url(target: str, bare: bool = False) -> str:
    safe = target.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return safe if bare else f"<{safe}>"
