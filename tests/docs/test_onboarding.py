"""The README and the docs stand on their own in a clone: every link they make into the repository
resolves inside it, and the onboarding and architecture docs are reachable from the README."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from markdown_it import MarkdownIt

from tests.infra.terraform_cli import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "examples" / "README.md"]


def links(document: Path) -> list[str]:
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(document.read_text()):
        for child in token.children or []:
            href = child.attrGet("href") or child.attrGet("src")
            if href:
                found.append(str(href))
    return found


def local_links(document: Path) -> list[str]:
    """Links into the repository (not a web address, not an anchor on the same page)."""
    return [href for href in links(document) if not urlparse(href).scheme and not href.startswith("#")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_into_the_repository_resolves_inside_it(document):
    for href in local_links(document):
        target = (document.parent / href.split("#", 1)[0]).resolve()
        assert target.is_relative_to(REPO), f"{document.name} links outside the repository: {href}"
        assert target.exists(), f"{document.name} links to a missing {href}"


def test_the_readme_points_to_the_onboarding_and_architecture_docs():
    readme = local_links(REPO / "README.md")
    assert "docs/onboarding.md" in readme
    assert "docs/architecture.md" in readme


def test_the_onboarding_doc_covers_what_a_repository_needs():
    doc = (REPO / "docs" / "onboarding.md").read_text()
    for needed in ('backend "s3" {}', "terraform.workspace", "environments/<env>.tfvars",
                   "environments/ephemeral.tfvars", "tfpipe.yml", "## Bringing existing state"):
        assert needed in doc, needed
