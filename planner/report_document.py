"""A report as a list of plain blocks, rendered as text, markdown or HTML.

Commands build one `Report` from plans (every figure computed there) and the renderers only
lay it out, so the three formats always show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.explain import money


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...] = ()
    """`left` or `right` per column (numbers right); missing columns are left-aligned."""

    @property
    def headed(self) -> bool:
        """False for a key-value table whose headers are all empty."""
        return any(self.headers)

    def alignment(self, column: int) -> str:
        return self.align[column] if column < len(self.align) else "left"


@dataclass(frozen=True)
class Image:
    """A PNG; HTML embeds it, markdown links `path` when the image was also written to a file."""

    png: bytes
    alt: str
    path: str | None = None


Block = Heading | Paragraph | Bullets | Table | Image


@dataclass(frozen=True)
class Report:
    title: str
    blocks: tuple[Block, ...]


def signed_money(value: float) -> str:
    """`+$1,234`, `-$1,234` or `$0`, rounded to whole dollars like `money`."""
    rounded = round(value)
    if rounded == 0:
        return money(0.0)
    return ("+" if rounded > 0 else "-") + money(abs(value))


def percent_change(before: float, after: float) -> str:
    if before == 0:
        return "" if after == 0 else "new"
    return f"{(after - before) / before:+.1%}"


def render(report: Report, output_format: str) -> str:
    """The report as `table` (plain text), `markdown` or `html`."""
    if output_format == "markdown":
        from planner.report_markdown import render_markdown

        return render_markdown(report)
    if output_format == "html":
        from planner.report_html import render_html

        return render_html(report)
    return render_text(report)


def render_text(report: Report) -> str:
    from planner.report import table

    out = [report.title]
    for block in report.blocks:
        if isinstance(block, Heading):
            out += ["", block.text if block.level <= 2 else f"{block.text}:"]
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out += [f"  - {item}" for item in block.items]
        elif isinstance(block, Table):
            text = table(block.headers, block.rows)
            out.append(text if block.headed else text.split("\n", 2)[2])
        elif block.path is not None:
            out.append(f"(plot: {block.path})")
    return "\n".join(out) + "\n"


def show_value(value: object) -> str:
    """A compact, stable text form of any JSON value (for fields we do not know by name)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}={show_value(item)}" for key, item in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(item) for item in value) or "-"
    return str(value)


def field_text(name: str, value: object) -> str:
    """A value of the field `name`, as money when the name says it is dollars per month."""
    if name.endswith("_usd_per_month") and isinstance(value, int | float) and not isinstance(value, bool):
        return money(float(value))
    return show_value(value)


def field_title(name: str) -> str:
    """`cost_usd_per_month` -> `cost $/month`."""
    return name.replace("_usd_per_month", " $/month").replace("_", " ")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def generic_blocks(name: str, value: object, level: int = 3) -> list[Block]:
    """Blocks for a plan field this module does not know: lists of records become tables."""
    title = field_title(name).capitalize()
    if isinstance(value, list | tuple) and value and all(isinstance(row, dict) for row in value):
        records: list[dict[str, object]] = list(value)
        columns: list[str] = []
        for row in records:
            columns += [key for key in row if key not in columns]
        rows = tuple(tuple(field_text(key, row.get(key)) for key in columns) for row in records)
        align = tuple("right" if all(_is_number(row.get(key)) for row in records) else "left"
                      for key in columns)
        return [Heading(title, level), Table(tuple(field_title(key) for key in columns), rows, align)]
    if isinstance(value, dict) and value:
        rows = tuple((field_title(str(key)), field_text(str(key), item)) for key, item in value.items())
        return [Heading(title, level), Table(("", ""), rows)]
    if value in (None, [], (), {}):
        return []
    return [Paragraph(f"{title}: {field_text(name, value)}")]
