"""Markdown (GitHub flavour) rendering of a `Report`: text a person can paste or attach."""

from __future__ import annotations

import re

from planner.report_document import Bullets, Heading, Image, Paragraph, Report, Table

# characters that start markup anywhere; `_` only at a word boundary; others only first on a line
_SPECIAL = re.compile(r"([\\`*\[\]<|])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_START = re.compile(r"^([#>+-]|\d+[.)])")


def escape(text: str, line_start: bool = False) -> str:
    """Text shown literally: markup characters escaped, line breaks folded into spaces.

    `line_start`: the text begins a line (a paragraph or list item), where `#`, `>`, `-`, `+`
    and `1.` would start a heading, quote or list.
    """
    text = _UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", " ".join(text.split())))
    return _LINE_START.sub(r"\\\1", text) if line_start else text


def _table(block: Table) -> list[str]:
    rule = ["---:" if block.alignment(i) == "right" else "---" for i in range(len(block.headers))]
    lines = ["| " + " | ".join(escape(h) for h in block.headers) + " |",
             "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(escape(cell) or " " for cell in row) + " |" for row in block.rows]
    return lines


def render_markdown(report: Report) -> str:
    out = [f"# {escape(report.title)}"]
    for block in report.blocks:
        out.append("")
        if isinstance(block, Heading):
            out.append(f"{'#' * min(max(block.level, 2), 6)} {escape(block.text)}")
        elif isinstance(block, Paragraph):
            out.append(escape(block.text, line_start=True))
        elif isinstance(block, Bullets):
            out += [f"- {escape(item, line_start=True)}" for item in block.items]
        elif isinstance(block, Table):
            out += _table(block)
        elif isinstance(block, Image) and block.path is not None:
            out.append(f"![{escape(block.alt)}](<{block.path.replace('>', '%3E')}>)")
        else:
            out.pop()  # an image that exists only in memory has no place in plain markdown
    return "\n".join(out) + "\n"
