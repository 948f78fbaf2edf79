"""The review pack as a reviewer opens it: headless Chromium (the Debian package `chromium`,
installed by `make test` through `make chromium`, like Graphviz) renders index.html of the real
assembly's pack. No table is wider than the page, no link is broken, every diagram loads.

Skips only where Chromium cannot be installed (no apt-get or no root) and says so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

# Runs in the page after it loads and writes what it measured into the DOM, which
# `chromium --dump-dom` prints.
PROBE = """
<script>
window.addEventListener('load', () => {
  const root = document.documentElement;
  const body = document.body.getBoundingClientRect();
  const tables = [...document.querySelectorAll('table')].map((t) => {
    const r = t.getBoundingClientRect();
    return {right: r.right, width: r.width, scroll: t.scrollWidth, client: t.clientWidth,
            head: (t.rows[0] ? t.rows[0].innerText : '').slice(0, 80)};
  });
  const svgs = [...document.querySelectorAll('.diagram svg')].map((s) => {
    const r = s.getBoundingClientRect();
    return {width: r.width, height: r.height, right: r.right, text: s.querySelectorAll('text').length};
  });
  const images = [...document.images].map((i) => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
  const links = [...document.querySelectorAll('a[href]')].map((a) => {
    const href = a.getAttribute('href');
    return {href, anchor: href.startsWith('#') ? !!document.getElementById(href.slice(1)) : null};
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({viewport: root.clientWidth, pageScroll: root.scrollWidth,
                                    bodyRight: body.right, tables, svgs, images, links});
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def rendered(synth, sample_config, tmp_path_factory):
    from review.diagram import graphviz_available
    from review.pack import build_pack

    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed and `make chromium` could not install it here (it needs "
                    "apt-get and root): the browser test of the review pack is skipped")
    if not graphviz_available():
        pytest.skip("Graphviz is not installed (`make review` installs it with apt-get): no diagrams to load")
    directory = tmp_path_factory.mktemp("pack")
    build_pack(synth.outdir, sample_config, tests_root=Path(__file__).resolve().parent, review_dir=directory)
    page = (directory / "index.html").read_text()
    probe = directory / "probe.html"  # same directory, so relative links resolve as in index.html
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--window-size=1400,1000", "--virtual-time-budget=10000"]
    proc = subprocess.run([*args, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the page's probe did not run: {proc.stderr[-2000:]}"
    import html

    subprocess.run([*args, f"--screenshot={directory / 'index.png'}", (directory / "index.html").as_uri()],
                   capture_output=True, timeout=180)
    return directory, json.loads(html.unescape(found.group(1)))


def test_no_table_is_wider_than_the_page(rendered) -> None:
    _, probe = rendered
    assert probe["pageScroll"] <= probe["viewport"], "the page scrolls sideways"
    wide = [t["head"] for t in probe["tables"] if t["right"] > probe["bodyRight"] + 1 or t["scroll"] > t["client"] + 1]
    assert wide == []
    assert len(probe["tables"]) > 20


def test_every_diagram_loads_at_page_width(rendered) -> None:
    directory, probe = rendered
    # the overview and one construct-tree picture per environment, inlined as SVG
    assert len(probe["svgs"]) == 4
    for svg in probe["svgs"]:
        assert svg["width"] > 300 and svg["height"] > 100 and svg["text"] > 10
        assert svg["right"] <= probe["bodyRight"] + 1
    assert all(i["ok"] for i in probe["images"]), probe["images"]
    for name in ("architecture", "diagram-dev", "diagram-preprod", "diagram-prod"):
        assert (directory / f"{name}.png").stat().st_size > 10_000


def test_no_link_is_broken(rendered) -> None:
    directory, probe = rendered
    assert probe["links"], "the index links to the pack's pages"
    broken = []
    for link in probe["links"]:
        href = link["href"]
        if href.startswith("#"):
            if not link["anchor"]:
                broken.append(href)
        else:
            url = urlparse(href)
            assert url.scheme in ("", "file"), f"external link in a self-contained page: {href}"
            if not (directory / unquote(url.path)).exists():
                broken.append(href)
    assert broken == []
