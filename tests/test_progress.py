"""Progress of long solves: `plan solve` prints the best plan and bound so far on stderr, at
most a line every few seconds, and nothing for a quick solve."""

from __future__ import annotations

import pytest

from clirun import invoke
from conftest import ROOT
from planner import progress
from planner.backends import isolation

QUICKSTART = str(ROOT / "problems" / "quickstart.yaml")


def test_plan_and_bound_say_what_is_known() -> None:
    assert progress.plan_and_bound(None, None) == "no plan yet"
    assert progress.plan_and_bound(None, 90.0) == "no plan yet, bound $90/month"
    assert progress.plan_and_bound(12_633.1, None) == "best plan $12,633/month"
    assert progress.plan_and_bound(12_633.1, 12_376.66) == \
        "best plan $12,633/month, bound $12,377/month (gap 2.03%)"


def test_throttled_prints_at_most_a_line_per_interval() -> None:
    lines: list[str] = []
    throttled = progress.Throttled(lines.append)
    throttled("round 1")
    throttled("round 2")
    assert lines == []  # within the first EVERY_S seconds
    throttled.last -= progress.EVERY_S
    throttled("round 3")
    throttled("round 4")
    assert len(lines) == 1 and lines[0].endswith("s  round 3")


def test_nobody_listening_hears_nothing_and_costs_nothing() -> None:
    assert not progress.listening()
    progress.tell("unheard")  # no listener: a no-op
    heard: list[str] = []
    with progress.reporting(heard.append):
        assert progress.listening()
        progress.tell("heard")
    progress.tell("unheard again")
    assert heard == ["heard"] and not progress.listening()


def test_a_quick_solve_prints_no_progress() -> None:
    result = invoke(["solve", QUICKSTART])
    assert result.exit_code == 0
    assert result.stderr.startswith("solving quickstart:")
    assert not [line for line in result.stderr.splitlines() if " s  " in line]


def test_a_long_solve_prints_the_best_plan_and_bound_so_far(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Every tell printed (no interval), as a long solve's would be every few seconds."""
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    monkeypatch.setattr(isolation, "TELL_EVERY_S", 0.0)
    result = invoke(["solve", QUICKSTART])
    assert result.exit_code == 0
    told = [line for line in result.stderr.splitlines() if " s  " in line]
    assert told and all("plan" in line for line in told)
