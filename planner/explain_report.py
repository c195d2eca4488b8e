"""The `plan explain` report: the plan, each workload's why, and the plan-level sections, as
blocks for the text, markdown and HTML renderers (JSON is `Explanation.to_dict`)."""

from __future__ import annotations

from planner.baselines import Baseline
from planner.budget_mode import SERVE_MOST_VALUE
from planner.explain import money
from planner.explanation import Explanation, Forced
from planner.problem import Problem
from planner.report_document import Block, Bullets, Heading, Paragraph, Report, Table, signed_money
from planner.report_plan import allocation_table, breakdown_table, summary_table
from planner.sensitivity import UNCHANGED, LimitWorth, PolicyCost

LABELS = ("LP estimate: the marginal saving in the MIP with its discrete choices (variants, "
          "training runs) fixed and instance counts continuous, for the unit shown; "
          "re-solved: the saving when the problem is solved again with that limit relaxed by "
          "the unit.")


def _maybe_money(value: float | None) -> str:
    """Dollars, `-$218` when negative (a saving that is a cost), `-` when unknown."""
    if value is None:
        return "-"
    return money(value) if round(value) >= 0 else f"-{money(-value)}"


def _signed_count(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.0f}"


def _share(part: float | None, whole: float | None) -> str:
    return "-" if part is None or not whole else f"{part / whole:.1%}"


def baseline_blocks(baselines: tuple[Baseline, ...], optimum: float, shed: float) -> list[Block]:
    rows = tuple((b.name, b.description, _maybe_money(b.cost_usd_per_month),
                  signed_money(b.saving_usd_per_month) if b.saving_usd_per_month is not None else "-",
                  _share(b.saving_usd_per_month, b.cost_usd_per_month),
                  "-" if b.plan is None else "valid" if not b.violations
                  else f"{len(b.violations)} violation{'s' if len(b.violations) != 1 else ''}")
                 for b in baselines)
    blocks: list[Block] = [
        Heading("Savings against simple baselines"),
        Paragraph(f"The plan costs {money(optimum)}/month. Each baseline is solved without the "
                  "budget and re-checked against the problem as written."
                  + (f" The plan sheds {shed:,.0f} requests/month; the baselines serve the whole "
                     "demand." if shed else "")),
        Table(("baseline", "runs", "$/month", "plan saves", "share", "re-check"), rows,
              ("left", "left", "right", "right", "right", "left"))]
    for baseline in baselines:
        if baseline.violations:
            blocks.append(Paragraph(f"{baseline.name} breaks: " + "; ".join(baseline.violations)))
    return blocks


def limit_blocks(limits: tuple[LimitWorth, ...], note: str | None, shedding: bool) -> list[Block]:
    blocks: list[Block] = [Heading("Binding limits and what relaxing each is worth")]
    if note:
        blocks.append(Paragraph(note))
    if not limits:
        blocks.append(Paragraph("No quota, spot share, min_replicas or demand row binds: relaxing "
                                "one by a unit saves nothing in the LP."))
        return blocks
    headers: tuple[str, ...] = ("limit", "relaxed by", "LP estimate saves $/month",
                                "re-solved saves $/month")
    rows: list[tuple[str, ...]] = [(w.limit, w.change, _maybe_money(w.lp_estimate_usd_per_month),
                                    _maybe_money(w.resolved_usd_per_month)) for w in limits]
    if shedding:
        headers += ("re-solved admits requests/month",)
        rows = [(*row, _signed_count(w.resolved_admitted_requests_per_month))
                for row, w in zip(rows, limits, strict=True)]
    blocks += [Table(headers, tuple(rows), ("left", "left", "right", "right", "right")),
               Paragraph(LABELS)]
    return blocks


def policy_blocks(policies: tuple[PolicyCost, ...], max_resolves: int, shedding: bool
                  ) -> list[Block]:
    blocks: list[Block] = [Heading("What each SLO, quality floor and policy costs")]
    done = [p for p in policies if p.status != "skipped"]
    skipped = [p for p in policies if p.status == "skipped"]
    if not policies:
        return [*blocks, Paragraph("No workload has an SLO, quality floor, spot share below 100 % "
                                   "or more than one replica to relax.")]
    if done:
        headers: tuple[str, ...] = ("workload", "relaxed", "change", "saves $/month", "re-solve")
        rows: list[tuple[str, ...]] = [
            (p.workload, p.policy, p.detail, _maybe_money(p.saving_usd_per_month), p.status)
            for p in done]
        if shedding:
            headers += ("admits requests/month",)
            rows = [(*row, _signed_count(p.admitted_requests_per_month))
                    for row, p in zip(rows, done, strict=True)]
        blocks.append(Table(headers, tuple(rows), ("left", "left", "left", "right", "left", "right")))
    if any(p.status == UNCHANGED for p in done):
        blocks.append(Paragraph(f"{UNCHANGED}: the policy ruled out no configuration and no "
                                "row of the MIP depends on it, so relaxing it saves nothing "
                                "(no re-solve needed)."))
    if skipped:
        blocks.append(Paragraph(
            f"Skipped for time (--max-resolves {max_resolves} reached): "
            + "; ".join(f"{p.workload} {p.policy}" for p in skipped)))
    return blocks


def forced_blocks(forced: Forced) -> list[Block]:
    pinned = "; ".join(f"{pin.workload}: {pin.text()}" for pin in forced.pins)
    blocks: list[Block] = [Heading("Forced choice")]
    if forced.delta_usd_per_month is None:
        return [*blocks, Paragraph(f"With {pinned} there is no plan ({forced.plan.status}):"),
                Bullets(forced.plan.diagnosis)]
    cost = forced.plan.objective_usd_per_month or 0.0
    blocks.append(Paragraph(f"With {pinned}: {money(cost)}/month, "
                            f"{signed_money(forced.delta_usd_per_month)} against the optimum."))
    names = {pin.workload for pin in forced.pins}
    blocks.append(allocation_table({"allocations": [
        a for a in forced.plan.to_dict()["allocations"] if a["workload"] in names],
        "periods": forced.plan.periods}))
    for result in forced.plan.workloads:
        if result.name in names and result.why:
            blocks += [Heading(f"why {result.name} (forced)", 3), Bullets(result.why)]
    return blocks


def explanation_report(explanation: Explanation, problem: Problem | None = None) -> Report:
    plan = explanation.plan
    data = plan.to_dict()
    blocks: list[Block] = [summary_table(data, problem)]
    title = f"Explanation of the plan for '{explanation.problem}'"
    if plan.objective_usd_per_month is None:
        blocks += [Heading(f"No plan: {plan.status}"), Bullets(plan.diagnosis)]
        return Report(title, tuple(blocks))
    blocks += [Heading("Allocations"), allocation_table(data),
               Heading("Why each workload runs where it does")]
    for result in plan.workloads:
        blocks += [Heading(result.name, 3), Bullets(result.why)]
    blocks.append(Heading("Cost breakdown"))
    for name, costs in explanation.cost_breakdown.items():
        if costs:
            blocks += [Heading(f"by {name}", 3),
                       breakdown_table(name, costs, plan.objective_usd_per_month or sum(costs.values()))]
    blocks += baseline_blocks(explanation.baselines, plan.objective_usd_per_month,
                              sum(w.shed_requests_per_month for w in plan.workloads))
    blocks += limit_blocks(explanation.limits, explanation.budget_note,
                           plan.budget_mode == SERVE_MOST_VALUE)
    blocks += policy_blocks(explanation.policies, explanation.max_resolves,
                            plan.budget_mode == SERVE_MOST_VALUE)
    if explanation.forced is not None:
        blocks += forced_blocks(explanation.forced)
    return Report(title, tuple(blocks))
