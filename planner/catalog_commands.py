"""`plan catalog ...`: list, show, validate and import catalog data.

Errors follow cli.py's convention (one message on stderr, exit 1, never a traceback); human
tables by default, `--format json` for machines; `-o FILE` is written atomically and never
overwrites without `--force`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from planner.errors import InputError, PlanError
from planner.output import emit, reports_errors

if TYPE_CHECKING:
    from planner.catalog import Catalog, Offer, Ownership

F = TypeVar("F", bound=Callable[..., Any])
SCHEMA_VERSION = 1
KINDS = ("accelerators", "offers", "models", "variants", "energy")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value < 1000 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


@click.group()
def catalog() -> None:
    """List, show, validate and import catalog data (accelerators, offers, models, variants, energy)."""


@catalog.command("list")
@click.option("--accelerators", "kind", flag_value="accelerators", help="List accelerators.")
@click.option("--offers", "kind", flag_value="offers", default=True, help="List offers (the default).")
@click.option("--models", "kind", flag_value="models", help="List models.")
@click.option("--variants", "kind", flag_value="variants", help="List compression variants.")
@click.option("--energy", "kind", flag_value="energy",
              help="List electricity rows per region (price, PUE, grid carbon intensity).")
@click.option("--provider", help="Only offers of this provider.")
@click.option("--region", help="Only offers (or energy rows) in this region.")
@click.option("--catalog", "catalogs", multiple=True, default=("default",), show_default=True,
              help="Catalog name or file/folder path; repeat to merge (later files override).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@reports_errors
def list_command(kind: str, provider: str | None, region: str | None, catalogs: tuple[str, ...],
                 output_format: str) -> None:
    """List catalog rows (offers by default).

    Offer prices are USD per instance-hour; `owned_per_month` is what an owned server costs per
    month whether busy or idle (amortised purchase, operations, idle electricity)."""
    from planner.catalog import PricingMode, did_you_mean, load_catalog

    cat = load_catalog(catalogs, Path.cwd())
    rows: list[Any]
    if kind == "offers":
        for value, known, option in ((provider, cat.providers(), "--provider"),
                                     (region, cat.regions(), "--region")):
            if value is not None and value not in known:
                raise PlanError(f"{option}: no offers for '{value}'{did_you_mean(value, known)}")
        chosen = [o for o in cat.offers if provider in (None, o.provider) and region in (None, o.region)]
        rows = sorted(chosen, key=lambda o: (o.provider, o.region, o.instance_type))
    elif kind == "energy":
        if region is not None and region not in cat.energy:
            raise PlanError(f"--region: no energy row for '{region}'{did_you_mean(region, cat.energy)}")
        rows = [cat.energy[name] for name in sorted(cat.energy) if region in (None, name)]
    else:
        rows = sorted(getattr(cat, kind).values(), key=lambda r: r.name)
    if output_format == "json":
        dumped = [row.model_dump(mode="json") for row in rows]
        if kind == "offers":
            for offer, row in zip(rows, dumped, strict=True):
                if offer.owned is not None:
                    row["owned_usd_per_month"] = cat.monthly_price(offer, PricingMode.owned)
        click.echo(json.dumps({"schema_version": SCHEMA_VERSION, kind: dumped}, indent=2, sort_keys=True))
        return
    if kind == "offers":
        text = _table(["provider", "region", "instance_type", "accelerator", "count", "on_demand", "spot",
                       "reserved_1y", "reserved_3y", "owned_per_month", "as_of"],
                      [[o.provider, o.region, o.instance_type, o.accelerator, o.count,
                        o.prices_usd_per_hour.on_demand, o.prices_usd_per_hour.spot,
                        o.prices_usd_per_hour.reserved_1y, o.prices_usd_per_hour.reserved_3y,
                        cat.monthly_price(o, PricingMode.owned), o.as_of]
                       for o in rows])
    elif kind == "energy":
        text = _table(["region", "usd_per_kwh", "pue", "grid_gco2_per_kwh", "as_of"],
                      [[e.region, e.usd_per_kwh, e.pue, e.grid_gco2_per_kwh, e.as_of] for e in rows])
    elif kind == "accelerators":
        text = _table(["name", "aliases", "vendor", "architecture", "memory_gb", "bandwidth_gb_s",
                       "bf16_tflops"],
                      [[a.name, a.aliases, a.vendor, a.architecture, a.memory_gb, a.bandwidth_gb_s,
                        a.tflops.get("bf16")] for a in rows])
    elif kind == "models":
        text = _table(["name", "family", "params_b", "layers", "kv_heads", "context", "quality"],
                      [[m.name, m.family, m.params_b, m.layers, m.kv_heads, m.context, m.quality]
                       for m in rows])
    else:
        text = _table(["name", "weight_bytes_per_param", "compute", "quality_retention", "architectures"],
                      [[v.name, v.weight_bytes_per_param, v.compute.value, v.quality_retention,
                        v.architectures or "any"] for v in rows])
    click.echo(text, nl=False)
    click.echo(f"{len(rows)} {kind}", err=True)


@catalog.command("show")
@click.argument("name")
@click.option("--catalog", "catalogs", multiple=True, default=("default",), show_default=True,
              help="Catalog name or file/folder path; repeat to merge.")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True)
@reports_errors
def show(name: str, catalogs: tuple[str, ...], output_format: str) -> None:
    """Show one accelerator, model, variant (name or alias), offer (provider/region/instance_type)
    or a region's energy row. An owned offer also shows what it costs to own."""
    from planner.catalog import did_you_mean, load_catalog

    cat = load_catalog(catalogs, Path.cwd())
    found: dict[str, Any] | None = None
    accelerator = cat.resolve_accelerator(name)
    offers = {offer.key.lower(): offer for offer in cat.offers}
    if accelerator is not None:
        row = cat.accelerators[accelerator]
        matching = [o.key for o in cat.offers if o.accelerator == accelerator]
        found = {"kind": "accelerator", **row.model_dump(mode="json"), "offers": sorted(matching)}
    elif name in cat.models:
        found = {"kind": "model", **cat.models[name].model_dump(mode="json")}
    elif name in cat.variants:
        found = {"kind": "variant", **cat.variants[name].model_dump(mode="json")}
    elif name.lower() in offers:
        offer = offers[name.lower()]
        found = {"kind": "offer", **offer.model_dump(mode="json")}
        if offer.owned is not None:
            found["ownership"] = _ownership_economics(cat, offer, offer.owned)
    elif name in cat.energy:
        found = {"kind": "energy", **cat.energy[name].model_dump(mode="json")}
    if found is None:
        choices = [*cat.aliases.values(), *cat.models, *cat.variants, *(o.key for o in cat.offers),
                   *cat.energy]
        raise PlanError(f"unknown name '{name}' (not an accelerator, model, variant, offer key "
                        f"provider/region/instance_type or energy region){did_you_mean(name, choices)}")
    if output_format == "json":
        click.echo(json.dumps({"schema_version": SCHEMA_VERSION, **found}, indent=2, sort_keys=True))
        return
    import yaml

    click.echo(yaml.safe_dump(found, sort_keys=False, allow_unicode=True, width=100), nl=False)


def _ownership_economics(cat: Catalog, offer: Offer, owned: Ownership) -> dict[str, Any]:
    """What an owned server costs: fixed per month (used or idle) and extra per busy hour."""
    from planner.catalog import PricingMode
    from planner.schema import HOURS_PER_MONTH

    monthly = cat.monthly_price(offer, PricingMode.owned)
    idle_per_month = None if monthly is None else monthly - owned.fixed_usd_per_month
    kg_co2 = cat.kg_co2_per_busy_hour(offer)
    energy = cat.energy.get(offer.region)
    economics: dict[str, Any] = {
        "amortised_usd_per_month": round(owned.purchase_usd / (owned.lifetime_years * 12), 2),
        "operations_usd_per_month": owned.operations_usd_per_month,
        "idle_energy_usd_per_month": _rounded(idle_per_month, 2),
        "total_usd_per_month": _rounded(monthly, 2),
        "total_usd_per_hour": _rounded(None if monthly is None else monthly / HOURS_PER_MONTH, 4),
        "idle_energy_usd_per_hour": _rounded(
            None if idle_per_month is None else idle_per_month / HOURS_PER_MONTH, 4),
        "busy_energy_usd_per_hour": round(cat.busy_energy_usd_per_hour(offer, PricingMode.owned), 4),
        "kg_co2_per_busy_hour": _rounded(kg_co2, 3),
        "energy": None if energy is None else energy.model_dump(mode="json"),
    }
    if energy is None:
        economics["note"] = f"no energy row for region '{offer.region}': electricity cannot be priced"
    return economics


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@catalog.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--max-age-days", type=click.IntRange(min=0), default=730, show_default=True,
              help="Warn about offers whose as_of is older than this.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@reports_errors
def validate(files: tuple[Path, ...], max_age_days: int, output_format: str) -> None:
    """Check catalog FILEs (default: the default catalog) for schema errors and price defects.

    Exit 0 when clean or with warnings only, 1 with errors.
    """
    from planner.catalog import CATALOG_ROOT, catalog_files, load_catalog
    from planner.catalog_checks import Finding, check_files

    paths: list[Path] = []
    for entry in files or (CATALOG_ROOT / "default",):
        if not entry.exists():
            raise InputError([_issue(str(entry), "catalog file not found")])
        paths += catalog_files(entry)
    findings: list[Finding] = []
    good: list[Path] = []
    for path in paths:
        # offer files refer to the default catalog's accelerators: check each merged with it
        try:
            load_catalog(["default", str(path)])
        except InputError as exc:
            for issue in exc.issues:
                finding = Finding("error", issue.file, issue.line, issue.field or "-", issue.message)
                if finding not in findings:
                    findings.append(finding)
            continue
        good.append(path)
    try:
        merged = load_catalog(["default", *(str(p) for p in good)])
    except InputError:
        merged = load_catalog(["default"])
    checked, rows = check_files(good, merged, max_age_days)
    findings += checked
    findings.sort(key=lambda f: (f.file, f.line or 0, f.severity))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    summary = f"{errors} errors, {warnings} warnings in {rows} rows"
    if output_format == "json":
        document = {"schema_version": SCHEMA_VERSION, "errors": errors, "warnings": warnings, "rows": rows,
                    "files": [str(p) for p in paths],
                    "findings": [{"severity": f.severity, "file": f.file, "line": f.line, "row": f.row,
                                  "message": f.message} for f in findings]}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        for finding in findings:
            click.echo(str(finding))
        click.echo(summary)
    if errors:
        sys.exit(1)


def _issue(file: str, message: str) -> Any:
    from planner.errors import Issue

    return Issue(file, None, None, "", message)


@catalog.command("import")
@click.option("--from", "fmt", type=click.Choice(["skypilot", "azure", "aws", "gcp"]), required=True,
              help="Source format.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Catalog YAML file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date of the prices (default: the file's publication date, else today).")
@click.option("--provider", type=click.Choice(["aws", "gcp", "azure", "lambda", "runpod"]),
              help="Cloud of a SkyPilot file (default: from its folder, name or instance names).")
@click.option("--catalog", "catalogs", multiple=True, default=("default",), show_default=True,
              help="Catalog whose accelerator names and aliases map the imported names.")
@reports_errors
def import_command(fmt: str, file: Path, output: Path, force: bool, as_of: dt.datetime | None,
                   provider: str | None, catalogs: tuple[str, ...]) -> None:
    """Convert a public price FILE into a catalog offers file (-o), reporting every skipped row."""
    from planner.catalog import CatalogFile, load_catalog
    from planner.importers import run_import
    from planner.yamlio import parse_yaml_text

    if output.exists() and not force:
        raise InputError([_issue(str(output), "output file exists; pass --force to overwrite it")])
    cat = load_catalog(catalogs, Path.cwd())
    result = run_import(fmt, file, cat, as_of.date() if as_of else None, provider)
    for line in result.report.lines():
        click.echo(line, err=True)
    if not result.offers:
        raise PlanError(f"no offers imported from {file}; nothing written")
    loaded = parse_yaml_text(result.text, str(output))  # the output must be a valid catalog file
    CatalogFile.model_validate(loaded.data)
    emit(result.text, output, force)
