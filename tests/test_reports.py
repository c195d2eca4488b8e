"""Markdown and HTML reports: structure, escaping, and that every number shown is the plan's."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from conftest import tiny_problem, write_problem
from planner.diff import diff_plans
from planner.diff_report import diff_report
from planner.explain import money
from planner.frontier import Frontier, FrontierPoint
from planner.frontier_report import frontier_report
from planner.plan import Plan
from planner.report_document import Bullets, Image, Paragraph, Report, Table
from planner.report_html import render_html
from planner.report_markdown import escape, render_markdown
from planner.report_plan import plan_report

SLO = {"ttft_ms": 500, "tpot_ms": 50}


class Tables(HTMLParser):
    """Every table of an HTML page as rows of cell texts, plus headings and list items."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self.items: list[str] = []
        self._text: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in ("td", "th", "li", "h1", "h2", "h3"):
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = "".join(self._text)
        if tag in ("td", "th"):
            self.tables[-1][-1].append(text)
        elif tag == "li":
            self.items.append(text)
        elif tag in ("h1", "h2", "h3"):
            self.headings.append(text)
        if tag in ("td", "th", "li", "h1", "h2", "h3"):
            self._text = None

    def table_after(self, first_header: str) -> list[list[str]]:
        return next(table for table in self.tables if table and table[0] and table[0][0] == first_header)

    def table_headed(self, *headers: str) -> list[list[str]]:
        return next(table for table in self.tables if table and table[0] == list(headers))

    def cell(self, key: str) -> str:
        return next(row[1] for table in self.tables for row in table if row and row[0] == key)


@pytest.fixture
def solved(solve_document: Any) -> Plan:
    _, _, plan = solve_document(tiny_problem(workload={"slo": SLO}))
    return plan


def solve_report(tmp_path: Path, output_format: str, document: dict[str, Any] | None = None) -> str:
    path = write_problem(tmp_path, document or tiny_problem(workload={"slo": SLO}))
    result = invoke(["solve", str(path), "--format", output_format])
    assert result.exit_code in (0, 2), result.output
    return result.stdout


def test_html_numbers_are_the_plans(tmp_path: Path, solved: Plan) -> None:
    page = Tables(solve_report(tmp_path, "html"))
    assert page.headings[:2] == ["Plan for 'tiny'", "Allocations"]
    assert {"Workloads", "Cost breakdown", "by workload", "by pricing mode", "by provider", "by component",
            "Why this plan", "chat"} <= set(page.headings)
    assert page.cell("cost per month") == money(solved.objective_usd_per_month or 0)
    assert page.cell("cost over 12 months") == money((solved.objective_usd_per_month or 0) * 12)
    allocations = page.table_after("workload")
    assert len(allocations) == 1 + len(solved.allocations)
    for row, allocation in zip(allocations[1:], solved.allocations, strict=True):
        assert row[-1] == money(allocation.cost_usd_per_month)
        assert row[8] == str(allocation.instances) and row[4] == allocation.pricing
    for header, breakdown in (("pricing mode", solved.cost_by_pricing), ("provider", solved.cost_by_provider),
                              ("component", solved.cost_components)):
        rows = page.table_headed(header, "$/month", "share")[1:]
        assert {row[0]: row[1] for row in rows} == {key: money(value) for key, value in breakdown.items()}
        assert sum(float(row[2].rstrip("%")) for row in rows) == pytest.approx(100, abs=0.2)
    by_workload = {row[0]: row[1] for row in page.table_headed("workload", "$/month", "share")[1:]}
    assert by_workload == {w.name: money(w.cost_usd_per_month) for w in solved.workloads}
    assert page.items == list(solved.workloads[0].why)


def test_markdown_structure_and_numbers(tmp_path: Path, solved: Plan) -> None:
    text = solve_report(tmp_path, "markdown")
    assert text.startswith("# Plan for 'tiny'\n")
    for heading in ("## Allocations", "## Workloads", "## Cost breakdown", "### by pricing mode",
                    "## Why this plan"):
        assert f"\n{heading}\n" in text
    assert f"| cost per month | {money(solved.objective_usd_per_month or 0)} |" in text
    for mode, cost in solved.cost_by_pricing.items():
        assert f"| {escape(mode)} | {money(cost)} |" in text
    for line in solved.workloads[0].why:
        assert f"- {escape(line)}\n" in text
    assert "| TTFT 500, TPOT 50 |" in text  # the workload's targets, from the problem


def test_infeasible_plan_report_has_the_diagnosis(tmp_path: Path) -> None:
    page = Tables(solve_report(tmp_path, "html", tiny_problem(workload={"slo": {"ttft_ms": 10}})))
    assert "No plan: infeasible" in page.headings
    assert any("best TTFT reachable is 100.0 ms" in item for item in page.items)


def test_html_escapes_everything_and_is_self_contained() -> None:
    report = Report("<b>title</b>", (
        Paragraph("a < b & c"), Bullets(('"quoted" <script>alert(1)</script>',)),
        Table(("<th>",), (("<img src=x onerror=alert(1)>",),)), Image(b"\x89PNG", "alt \" text")))
    html = render_html(report)
    assert "<script>" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "a &lt; b &amp; c" in html and 'alt="alt &quot; text"' in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "<link" not in html
    page = Tables(html)
    assert page.tables == [[["<th>"], ["<img src=x onerror=alert(1)>"]]]


def test_markdown_escapes_table_and_markup_characters() -> None:
    text = render_markdown(Report("t", (Table(("a|b",), (("x | y *z*",), ("-$500",))),
                                        Paragraph("reserved_3y _lead <tag> a -> b"),
                                        Paragraph("# not a heading"),
                                        Bullets(("> not a quote", "1. not a list")))))
    assert "| a\\|b |" in text and "| x \\| y \\*z\\* |" in text and "| -$500 |" in text
    assert "\nreserved_3y \\_lead \\<tag> a -> b\n" in text
    assert "\n\\# not a heading\n" in text and "\n- \\> not a quote\n- \\1. not a list\n" in text


def test_unknown_plan_fields_appear_as_tables(solved: Plan) -> None:
    data = solved.to_dict()
    data["reservations"] = [{"offer": "cloud/r1/ta.1", "count": 2, "cost_usd_per_month": 730.0}]
    page = Tables(render_html(plan_report(data)))
    assert "Reservations" in page.headings
    assert page.table_after("offer") == [["offer", "count", "cost $/month"], ["cloud/r1/ta.1", "2", "$730"]]


def test_diff_report_numbers(solve_document: Any) -> None:
    _, _, before = solve_document(tiny_problem())
    _, _, after = solve_document(tiny_problem(workload={"rate_rps": 40}))
    diff = diff_plans(before.to_dict(), after.to_dict(), "a.json", "b.json")
    page = Tables(render_html(diff_report(diff)))
    assert page.headings[0] == "Plan diff: a.json -> b.json"
    total = page.table_after("total")[1]
    delta = (after.objective_usd_per_month or 0) - (before.objective_usd_per_month or 0)
    assert total[:4] == ["total", money(before.objective_usd_per_month or 0),
                         money(after.objective_usd_per_month or 0), f"+{money(delta)}"]
    changes = page.table_after("change")[1:]
    assert len(changes) == len(diff.allocations)
    assert {row[0] for row in changes} == {"removed", "changed"}


def test_frontier_report_embeds_the_plot_and_marks_knees() -> None:
    points = tuple(FrontierPoint(value, "optimal" if cost else "infeasible", cost, {},
                                 {"chat": f"{value}x TA"}, knee=value == 1.0)
                   for value, cost in ((0.5, None), (1.0, 2000.0), (1.5, 1500.0)))
    frontier = Frontier("tiny", "latency", None, points)
    page = Tables(render_html(frontier_report(frontier, b"\x89PNG-bytes")))
    rows = page.table_after("SLO factor")[1:]
    assert [row[:3] for row in rows] == [["x0.5", "infeasible", "no plan"], ["x1", "optimal", "$2,000"],
                                         ["x1.5", "optimal", "$1,500"]]
    assert [row[4] for row in rows] == ["", "knee", ""] and rows[2][3] == "-$500"
    html = render_html(frontier_report(frontier, b"\x89PNG-bytes"))
    assert 'src="data:image/png;base64,iVBORy1ieXRlcw=="' in html
    markdown = render_markdown(frontier_report(frontier, b"\x89PNG", "out/frontier.png"))
    assert "![least cost by SLO factor](<out/frontier.png>)" in markdown
