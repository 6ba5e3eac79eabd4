"""The `tfpipe` command."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Operate the tfpipe GitOps pipeline: on the embedded stack, or with settings, against AWS."""


if __name__ == "__main__":
    main()
