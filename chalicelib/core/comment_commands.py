"""Pull request comment commands: `/plan`, `/approve`, `/reject`, `/ephemeral [ttl=4h]`, `/ttl 8h`,
`/destroy`, `/terraform <args>`. Looked up in a table; the first line of the comment is the command."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    PLAN = "plan"
    APPROVE = "approve"
    REJECT = "reject"
    EPHEMERAL = "ephemeral"
    TTL = "ttl"
    DESTROY = "destroy"
    TERRAFORM = "terraform"


USAGE: dict[Verb, str] = {
    Verb.PLAN: "/plan",
    Verb.APPROVE: "/approve [run-id]",
    Verb.REJECT: "/reject [run-id]",
    Verb.EPHEMERAL: "/ephemeral [ttl=4h]",
    Verb.TTL: "/ttl <duration, e.g. 8h>",
    Verb.DESTROY: "/destroy",
    Verb.TERRAFORM: "/terraform <allow-listed subcommand and arguments>",
}
MAX_COMMENT_LINE = 1000


@dataclass(frozen=True)
class CommentCommand:
    verb: Verb
    args: tuple[str, ...]


class NotACommand(Exception):
    """The comment is conversation, not addressed to the pipeline (or to another bot: `/lgtm`, `/cc`)."""


class UnknownCommand(Exception):
    """It starts with `/` and a word close to one of ours: a typo worth answering."""


def usage() -> str:
    return ", ".join(f"`{u}`" for u in USAGE.values())


def parse_comment(body: str | None) -> CommentCommand:
    if not body:
        raise NotACommand
    first = body.strip().splitlines()[0].strip() if body.strip() else ""
    if not first.startswith("/") or len(first) > MAX_COMMENT_LINE:
        raise NotACommand
    words = first[1:].split()
    if not words:
        raise NotACommand
    word = words[0].lower()
    try:
        verb = Verb(word)
    except ValueError:
        # Other bots' slash commands share pull requests with ours: answer only what looks like a typo.
        close = difflib.get_close_matches(word, [v.value for v in Verb], n=1, cutoff=0.75)
        if not close:
            raise NotACommand from None
        raise UnknownCommand(f"`/{words[0][:40]}` is not a tfpipe command (did you mean `/{close[0]}`?); "
                             f"the commands are {usage()}") from None
    return CommentCommand(verb, tuple(words[1:]))
