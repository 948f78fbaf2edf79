"""Render the pack: one small document model, written as Markdown and as one self-contained
HTML page (inline CSS, diagrams inlined as SVG, no external scripts, styles or fonts)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Doc:
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def ul(self, items: list[str]) -> None:
        self.blocks.append(("ul", items))

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", headers, rows))

    def image(self, alt: str, md_path: str, svg: str | None) -> None:
        self.blocks.append(("img", alt, md_path, svg))

    def extend(self, other: "Doc") -> None:
        self.blocks.extend(other.blocks)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(doc: Doc) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        kind = block[0]
        if kind == "h":
            out += ["#" * (block[1] + 1) + " " + block[2], ""]
        elif kind == "p":
            out += [block[1], ""]
        elif kind == "ul":
            out += [f"- {item}" for item in block[1]] + [""]
        elif kind == "table":
            headers, rows = block[1], block[2]
            out.append("| " + " | ".join(headers) + " |")
            out.append("|" + "|".join("---" for _ in headers) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "img":
            out += [f"![{block[1]}]({block[2]})", ""]
    return "\n".join(out)


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _inline(text: str) -> str:
    t = html.escape(str(text), quote=False)
    t = _CODE.sub(r"<code>\1</code>", t)
    t = _BOLD.sub(r"<b>\1</b>", t)
    t = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>' if not m.group(2).startswith("http")
                  else f"{m.group(1)} ({m.group(2)})", t)
    return t.replace("\n", "<br>")


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{border-bottom:2px solid #2e7d32}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:13px;width:100%}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f0f0f0}code{background:#f4f4f4;padding:0 3px;font-size:12px}
.s-implemented{background:#e3f4e1}.s-partly{background:#fff4d6}.s-not-yet{background:#fde2e1}
.diagram svg{max-width:100%;height:auto;border:1px solid #ddd}
"""


def _status_class(cell: str) -> str:
    for s in ("implemented", "partly", "not yet"):
        if cell.lower().startswith(s):
            return f' class="s-{s.replace(" ", "-")}"'
    return ""


def to_html(doc: Doc) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(doc.title)}</h1>"]
    for block in doc.blocks:
        kind = block[0]
        if kind == "h":
            level = min(block[1] + 1, 6)
            anchor = re.sub(r"[^a-z0-9]+", "-", block[2].lower()).strip("-")
            out.append(f'<h{level} id="{anchor}">{_inline(block[2])}</h{level}>')
        elif kind == "p":
            out.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            headers, rows = block[1], block[2]
            out.append("<table><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in headers) + "</tr>")
            for row in rows:
                out.append("<tr>" + "".join(f"<td{_status_class(str(c))}>{_inline(c)}</td>" for c in row) + "</tr>")
            out.append("</table>")
        elif kind == "img":
            svg = block[3]
            if svg:
                svg = re.sub(r"<\?xml[^>]*>|<!DOCTYPE[^>]*>", "", svg, flags=re.S)
                out.append(f'<div class="diagram">{svg}</div>')
            else:
                out.append(f"<p><i>{html.escape(block[1])}: not rendered (Graphviz missing).</i></p>")
    out.append("</body></html>")
    return "\n".join(out)


def write(doc: Doc, directory: Path, stem: str, html_too: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.md").write_text(to_markdown(doc))
    if html_too:
        (directory / f"{stem}.html").write_text(to_html(doc))
