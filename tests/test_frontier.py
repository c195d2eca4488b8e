"""`plan frontier`: one solve per point, monotone where theory says so (a tighter SLO is never
cheaper, a looser quality floor never dearer, more spot share never dearer), knees, the plot."""

from __future__ import annotations

import base64
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from clirun import invoke
from conftest import ROOT, tiny_problem, write_problem
from planner.explain import money
from planner.frontier import Frontier, compute_frontier, knee_indices, spaced
from planner.problem import load_problem

QUICKSTART = ROOT / "problems" / "quickstart.yaml"
TOLERANCE = 1e-6


def frontier_of(tmp_path: Path, document: dict[str, Any], axis: str, start: float, stop: float,
                points: int) -> Frontier:
    problem, catalog = load_problem(write_problem(tmp_path, document))
    return compute_frontier(problem, catalog, axis, points, start, stop)


def costs(frontier: Frontier) -> list[float | None]:
    return [point.cost_usd_per_month for point in frontier.points]


def never_rises(values: list[float | None]) -> bool:
    """Non-increasing, where an infeasible point (None) counts as infinitely dear."""
    numbers = [float("inf") if value is None else value for value in values]
    return all(later <= earlier + TOLERANCE for earlier, later in itertools.pairwise(numbers))


def test_tighter_slo_is_never_cheaper(tmp_path: Path) -> None:
    # TTFT 150 ms scaled x0.5..x2 in equal ratios: 75 ms no plan (TA's best is 100 ms), 119 and
    # 189 ms only TA, 300 ms also TB (200 ms)
    frontier = frontier_of(tmp_path, tiny_problem(workload={"slo": {"ttft_ms": 150}}), "latency", 0.5, 2.0, 4)
    found = costs(frontier)
    assert never_rises(found)
    assert found[0] is None and found[1] is not None and found[-1] is not None and found[-1] < found[1]


def test_looser_quality_floor_is_never_dearer(tmp_path: Path) -> None:
    # int8 keeps 0.98 of bf16 quality and serves twice the rate on TA
    document = tiny_problem(workload={"variants": ["bf16", "int8"]})
    frontier = frontier_of(tmp_path, document, "quality", 0.96, 1.0, 3)
    found = costs(frontier)
    assert never_rises(found[::-1])  # read from the strictest floor down
    assert found[0] is not None and found[-1] is not None and found[0] < found[-1]
    assert "int8" in frontier.points[0].configuration["chat"]
    assert "int8" not in frontier.points[-1].configuration["chat"]


def test_more_spot_share_is_never_dearer(tmp_path: Path) -> None:
    frontier = frontier_of(tmp_path, tiny_problem(), "spot-share", 0.0, 1.0, 3)
    found = costs(frontier)
    assert never_rises(found)
    assert found[0] is not None and found[-1] is not None and found[-1] < found[0]
    assert "spot" not in frontier.points[0].configuration["chat"]


def test_budget_shows_feasibility(tmp_path: Path, solve_document: Any) -> None:
    _, _, plan = solve_document(tiny_problem())
    least = plan.objective_usd_per_month
    frontier = frontier_of(tmp_path, tiny_problem(), "budget", least * 0.5, least * 1.5, 3)
    assert [p.status for p in frontier.points] == ["infeasible", "optimal", "optimal"]
    assert costs(frontier)[1:] == [least, least]
    assert [p.knee for p in frontier.points] == [False, True, False]


def test_knees_where_the_slope_changes_most() -> None:
    values = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert knee_indices(values, [10.0, 8.0, 6.0, 5.5, 5.0]) == {2}
    assert knee_indices(values, [7.0, 7.0, 7.0, 7.0, 7.0]) == set()
    assert knee_indices(values, [None, None, 7.0, 6.0, 5.0]) == {2}
    assert knee_indices(values, [10.0, 9.0, 8.0, 7.0, 6.0]) == set()  # a straight line has none


def test_spaced_includes_both_ends() -> None:
    assert spaced(0.5, 2.0, 4) == [0.5, 1.0, 1.5, 2.0]
    assert spaced(0.9, 1.0, 3) == [0.9, 0.95, 1.0]
    assert spaced(0.5, 2.0, 5, geometric=True) == pytest.approx([0.5, 0.5 ** 0.5, 1.0, 2 ** 0.5, 2.0])
    assert spaced(0.5, 2.0, 5, geometric=True)[2] == 1.0  # the problem as written is a point


def test_cli_table_progress_and_json(tmp_path: Path) -> None:
    path = write_problem(tmp_path, tiny_problem())
    result = invoke(["frontier", str(path), "--vary", "spot-share", "--points", "3"])
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/3", "[2/3", "[3/3"]
    as_json = invoke(["frontier", str(path), "--vary", "spot-share", "--points", "3",
                                        "--format", "json"])
    document = json.loads(as_json.stdout)
    assert document["vary"] == "spot-share" and [p["value"] for p in document["points"]] == [0.0, 0.5, 1.0]
    for point in document["points"]:  # the table shows the same figures
        assert money(point["cost_usd_per_month"]) in result.stdout


def test_quickstart_latency_plot_and_html(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional `report` extra (CI installs it)")
    plot, report = tmp_path / "frontier.png", tmp_path / "frontier.html"
    result = invoke(["frontier", str(QUICKSTART), "--vary", "latency", "--points", "3",
                                       "--plot", str(plot), "--format", "html", "-o", str(report)])
    assert result.exit_code == 0, result.output
    png = plot.read_bytes()
    assert png.startswith(b"\x89PNG")
    html = report.read_text()
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in html
    found = [float(line.split("$")[1].split("/")[0].replace(",", "")) for line in result.stderr.splitlines()
             if line.startswith("[") and "$" in line]
    assert len(found) == 3 and never_rises(list(found))


def test_missing_matplotlib_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    path = write_problem(tmp_path, tiny_problem())
    result = invoke(["frontier", str(path), "--vary", "budget", "--plot",
                                       str(tmp_path / "f.png")])
    assert result.exit_code == 1
    assert "pip install 'plan-ai-compute[report]'" in result.stderr
    assert "[1/" not in result.stderr and "Traceback" not in result.output  # nothing solved first
    html = invoke(["frontier", str(path), "--vary", "spot-share", "--points", "2", "--format", "html"])
    assert html.exit_code == 0 and "<img" not in html.stdout and "<table>" in html.stdout
    assert "the HTML report has no plot without matplotlib" in html.stderr


@pytest.mark.parametrize("arguments, expected", [
    (["--vary", "quality", "--from", "0.5", "--to", "1.5"], "--to: quality values must be"),
    (["--vary", "spot-share", "--from", "1", "--to", "0.5"], "--from: must be below --to (got 1 and 0.5)"),
    (["--vary", "budget", "--points", "1"], "--points: must be 2 to 50 (got 1)"),
    (["--vary", "latency", "--workload", "chta"],
     "--workload: unknown workload 'chta'; did you mean 'chat'?"),
    (["--vary", "latency"], "--vary: latency: no workload has a latency SLO to vary"),
    (["--vary", "budget", "--workload", "chat"], "--workload: the budget is shared by all workloads"),
])
def test_bad_range_is_reported(tmp_path: Path, arguments: list[str], expected: str) -> None:
    path = write_problem(tmp_path, tiny_problem())
    result = invoke(["frontier", str(path), *arguments])
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.output
