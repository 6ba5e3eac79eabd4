"""The `tfpipe` command: a table of subcommands, each defined in `tfpipe/commands/`."""

from __future__ import annotations

import click

from tfpipe.commands import approvals, history, runs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfpipe", message="tfpipe %(version)s")
def main() -> None:
    """Operate the tfpipe GitOps pipeline: on the embedded stack, or with settings, against AWS."""


for command in (runs.run, runs.runs, runs.show, runs.envs, runs.ttl, runs.destroy):
    main.add_command(command)

for command in (approvals.approve, approvals.reject, approvals.unlock):
    main.add_command(command)

main.add_command(history.history)

# The embedded stack (`tfpipe local ...`) and pull requests on its GitHub stand-in (`tfpipe pr ...`).
from tfpipe.commands import local_stack, pull_requests  # noqa: E402

main.add_command(local_stack.local)
main.add_command(pull_requests.pr)

# The end-to-end demo (`make demo`).
from tfpipe.demo.command import demo  # noqa: E402

main.add_command(demo)


if __name__ == "__main__":
    main()
