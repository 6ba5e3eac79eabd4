"""`when_modified` globs: `**/` is any number of directories (none included), `**` anything, `*` and
`?` stay within one directory, `[...]`/`[!...]` a class. The whole path must match (unlike
`PurePath.match`, which matches from the right and has `**` act as `*` before Python 3.13)."""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache


def glob_matches(pattern: str, path: str) -> bool:
    """`pattern` matches the whole of `path` (both relative to the same directory, POSIX)."""
    return _compiled(pattern).fullmatch(path) is not None


def from_project(directory: str, pattern: str) -> str:
    """A glob relative to a project's dir, made relative to the repository root (`../` resolved);
    a result starting with `..` reaches outside the repository."""
    return posixpath.normpath(pattern if directory == "." else f"{directory}/{pattern}")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
