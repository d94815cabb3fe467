"""The documentation site builds strictly, renders mermaid and carries the generated API reference."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def _page(site: Path, md: str) -> str:
    name = Path(md).stem
    return (site / ("index.html" if name == "index" else f"{name}/index.html")).read_text(encoding="utf-8")


@pytest.mark.slow
def test_mermaid_blocks_render(site):
    """Each ```mermaid fence becomes a <pre class="mermaid"> that Material's JavaScript turns into a diagram
    (the default theme printed the source as text)."""
    fences = {
        p.name: len(re.findall(r"^```mermaid\s*$", p.read_text(encoding="utf-8"), re.M))
        for p in (ROOT / "docs").glob("*.md")
    }
    assert fences["models.md"] >= 1
    for md, count in fences.items():
        html = _page(site, md)
        assert len(re.findall(r'<pre class="mermaid"><code>', html)) == count, md
        assert "language-mermaid" not in html, md
    html = _page(site, "models.md")
    assert re.search(r'<pre class="mermaid"><code>flowchart LR', html)
    (bundle,) = re.findall(r'src="[./]*(assets/javascripts/bundle\.[0-9a-f]+\.min\.js)"', html)
    assert "mermaid" in (site / bundle).read_text(encoding="utf-8")  # the theme's loader for those blocks


@pytest.mark.slow
def test_api_reference_is_generated_from_docstrings(site):
    html = _page(site, "reference.md")
    for name in (
        "frd.compute_frd",
        "frd.FRD",
        "frd.FRDResult",
        "frd.metric_torch.FRDMetric",
        "CCNetPipeline",
        "generate_phantom",
        "compute_metrics",
    ):
        assert re.search(rf'id="([\w.]*\.)?{re.escape(name)}"', html), name
    assert "Fréchet Radiomics Distance between image sets" in html  # compute_frd's docstring, not hand-written
    for option in ("bootstrap", "kid", "fd_inf", "match_sample_count"):
        assert f"<code>{option}" in html
    assert 'pip install "frd-radiomics[torch]"' in html.replace("&quot;", '"')


@pytest.mark.slow
def test_site_has_install_quickstart_changelog(site):
    install = _page(site, "install.md").replace("&quot;", '"')
    for extra in ("zoo", "sd", "torch"):
        assert f'pip install "frd-radiomics[{extra}]"' in install
    assert "_FRD_COMPLETE" in install and "_CCNET_ZOO_COMPLETE" in install
    assert "frd-radiomics" in _page(site, "changelog.md")
