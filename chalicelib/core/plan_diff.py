"""A plan's own text (what `terraform plan` printed, the run's `plan.txt`) made to read as a diff in a
PR comment's ```diff block.

GitHub's diff highlighting looks at the FIRST character of a line only (`+` inserted, `-` deleted,
`!` changed), while Terraform indents its markers under the resource they belong to. So every line
whose first non-blank text is a marker gets the marker moved to the first column and the indentation
after it (`      + arn = ...` becomes `+       arn = ...`): the text stays in the same column, so the
nesting still lines up. `~` (update in place) becomes `!`, diff's "changed"; `-/+` and `+/-`
(replacements) are kept whole and keep their first character. `<=` (a data source read during apply)
is left indented: a `<` in the first column would read as a deletion.

Lines that only say what Terraform refreshed or read before planning ("Refreshing state...",
"Reading...", "Read complete after ...", "Still reading...") are dropped, and so is the closing
"Saved the plan to: ... run terraform apply" note, which tells a reviewer to run something the
pipeline does itself (after an approval). Everything else is kept as Terraform printed it; the
unchanged text stays one click away in the run's `plan.txt` artifact.
"""

from __future__ import annotations

import re

# `<address>: Refreshing state... [id=...]`, `data.x.y: Reading...`, `data.x.y: Read complete after 0s`,
# `data.x.y: Still reading... [10s elapsed]`; addresses start in the first column, plan lines never do.
_NOISE = re.compile(r"^\S.*?: (Refreshing state\.\.\.|Reading\.\.\.|Read complete after |Still reading\.\.\.)")
_SAVED = "Saved the plan to: "
_MARKER = re.compile(r"^( +)(-/\+|\+/-|[-+~])(?= )")
_DIFF_MARKER = {"~": "!"}  # diff has no `~`; `!` is its "changed"


def as_diff(text: str) -> str:
    kept = [line for line in text.splitlines() if not _NOISE.match(line)]
    saved = next((i for i, line in enumerate(kept) if line.startswith(_SAVED)), None)
    if saved is not None:
        kept = kept[:saved]
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and (not kept[-1].strip() or set(kept[-1].strip()) == {"─"}):
        kept.pop()
    return "".join(_marker_first(line) + "\n" for line in kept)


def _marker_first(line: str) -> str:
    match = _MARKER.match(line)
    if match is None:
        return line
    indent, marker = match.groups()
    return _DIFF_MARKER.get(marker, marker) + indent + line[match.end():]
