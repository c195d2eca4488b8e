"""`plan export`: deployment configurations for SkyPilot, Kubernetes, KServe or vLLM."""

from __future__ import annotations

from pathlib import Path

import click

from planner.errors import input_error
from planner.output import check_target, reports_errors

_TARGETS = ("skypilot", "kubernetes", "kserve", "vllm")


@click.command("export")
@click.argument("plan_file", type=click.Path(path_type=Path))
@click.option("--to", "target", type=click.Choice(_TARGETS), required=True, help="What to generate.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to create (written atomically).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--validate", "run_validators", is_flag=True,
              help="Check the files with the tools' own validators first (needs the `export` extra); "
                   "nothing is written if they fail.")
@click.option("--image", default=None, help="Container image for Kubernetes and KServe "
              "(default: vLLM's pinned CUDA image).")
@reports_errors
def export(plan_file: Path, target: str, output: Path, force: bool, run_validators: bool,
           image: str | None) -> None:
    """Write deployment files for the serving workloads of PLAN_FILE (JSON from `plan solve`)."""
    from planner.catalog import load_catalog
    from planner.cli import read_plan
    from planner.export import VLLM_IMAGE, export_plan, validate, write_folder

    plan = read_plan(plan_file)
    check_target(output, force, "-o", folder=True)
    try:
        result = export_plan(plan, load_catalog(["default"]), target, image or VLLM_IMAGE)
    except ValueError as exc:
        raise input_error(str(plan_file), f"cannot export: {exc}") from None
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if run_validators:
        report = validate(target, list(result.files))
        if not report.ok:
            click.echo(f"invalid: {len(report.findings)} problems; nothing written", err=True)
            for finding in report.findings:
                click.echo(f"  - {finding}", err=True)
            raise SystemExit(1)
        click.echo(f"valid: {len(result.files)} files passed {'; '.join(report.validators)}", err=True)
    write_folder(output, list(result.files), force)
    click.echo(f"wrote {len(result.files)} files to {output} (plan {result.plan_id})", err=True)
