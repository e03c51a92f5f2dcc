"""The documentation: the site builds strictly, and the README stays short with working links.

``mkdocs build --strict`` turns every warning into a failure: a page missing from the nav, a link
to a file or an anchor that does not exist, a docstring mkdocstrings cannot read (mkdocs.yml
raises each of those to a warning). CI installs the ``docs`` extra, so these tests run there.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MOST_LINES = 200

needs_mkdocs = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs is not installed: pip install -e '.[docs]'")


def build_strictly(config: Path, site: Path) -> subprocess.CompletedProcess:
    """Run ``mkdocs build --strict`` on ``config`` into ``site``; the result, output captured."""
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"})


@needs_mkdocs
def test_the_site_builds_strictly(tmp_path):
    run = build_strictly(ROOT / "mkdocs.yml", tmp_path / "site")
    assert run.returncode == 0, run.stdout + run.stderr
    api = (tmp_path / "site" / "authors" / "api" / "index.html").read_text()
    for name in ("checks.registry.check", "checks.strategies.rnn_problems", "checks.verdicts.assert_close",
                 "checks.gradcheck.assert_backprop_matches_own_forward"):
        assert f'id="{name}"' in api, f"the API page documents no {name}"


@needs_mkdocs
@pytest.mark.parametrize("mistake", ["[a page](no-such-page.md)", "[an anchor](contract.md#no-such-heading)"])
def test_a_broken_link_fails_the_strict_build(tmp_path, mistake):
    """The same site with one broken link added to its home page does not build: the strict build bites."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    with (docs / "index.md").open("a") as home:
        home.write(f"\nSee {mistake}.\n")
    config = (ROOT / "mkdocs.yml").read_text()
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}").replace("paths: [.]", f"paths: [{ROOT}]")
    assert str(docs) in config and str(ROOT) in config, "mkdocs.yml no longer has the lines this test rewrites"
    (tmp_path / "mkdocs.yml").write_text(config)
    run = build_strictly(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert run.returncode != 0
    link = mistake.partition("(")[2].rstrip(")")
    assert link in run.stdout + run.stderr, "the failure does not name the broken link"


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MOST_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def relative_links(markdown: str) -> list[str]:
    """The targets of Markdown links and images that are not URLs or in-page anchors."""
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", markdown)
    targets += re.findall(r'src="([^"]+)"', markdown)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_every_relative_link_of_the_readme_resolves():
    links = relative_links((ROOT / "README.md").read_text())
    assert links, "the README links to no page of the docs"
    missing = [link for link in links if not (ROOT / link.partition("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_the_link_finder_sees_what_it_must():
    found = relative_links('[a](docs/a.md) [b](https://x.org/b.md) [c](#c) ![d](docs/d.svg "t") <img src="e.svg">')
    assert found == ["docs/a.md", "docs/d.svg", "e.svg"]
