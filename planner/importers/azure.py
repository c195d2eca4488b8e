"""Azure Retail Prices API JSON (a response page: `{"Items": [...]}`, or a bare list of items).

Per item: `type` Consumption is on-demand, or spot when `meterName` ends in " Spot" ("Low
Priority" meters are skipped: retired); Reservation `retailPrice` is the TOTAL for the term
although `unitOfMeasure` says "1 Hour", so it is divided by 8760 x years of `reservationTerm`;
DevTestConsumption is skipped (not a public price). Windows meters are skipped (Linux prices
only). The instance is `armSkuName`, the region `armRegionName`; the accelerator and count come
from the size name (`Standard_ND96isr_H100_v5` = 8 x H100).
"""

from __future__ import annotations

import re

from planner.importers.common import HOURS_PER_YEAR, ImportReport, PriceRow, json_items, parse_price
from planner.importers.instances import azure_instance

_TERM = re.compile(r"^\s*(\d+)\s*years?\s*$", re.IGNORECASE)


def read(name: str, text: str, report: ImportReport) -> list[PriceRow]:
    items = json_items(text, "Items", report, "an Azure Retail Prices response")
    merged: dict[tuple[str, str], PriceRow] = {}
    for index, item in enumerate(items):
        ref = f"{name}:Items[{index}]"
        if not isinstance(item, dict):
            report.skip(ref, "not an object")
            continue
        kind = str(item.get("type", ""))
        meter = str(item.get("meterName", ""))
        product = str(item.get("productName", ""))
        sku = str(item.get("armSkuName", ""))
        region = str(item.get("armRegionName", ""))
        price = parse_price(item.get("retailPrice"))
        if kind == "DevTestConsumption":
            report.ignored["DevTestConsumption"] += 1
            continue
        if "Low Priority" in meter:
            report.ignored["Low Priority meter"] += 1
            continue
        if "Windows" in product:
            report.ignored["Windows"] += 1
            continue
        if str(item.get("currencyCode", "USD")) != "USD":
            report.skip(ref, f"not USD ({item.get('currencyCode')})")
            continue
        known = azure_instance(sku)
        if known is None or not known[0]:
            report.ignored["no accelerator (CPU-only or unknown size)"] += 1
            continue
        if not region:
            report.skip(ref, "no armRegionName")
            continue
        row = merged.get((region, sku))
        if row is None:
            row = PriceRow(ref, "azure", region, sku, known[0], known[1])
            merged[(region, sku)] = row
        else:
            row.ref = f"{row.ref},{index}"
        if price is None or price <= 0:
            report.skip(ref, "no price")
            continue
        if kind == "Consumption":
            if meter.endswith(" Spot"):
                row.spot = price
            else:
                row.on_demand = price
        elif kind == "Reservation":
            term = _TERM.match(str(item.get("reservationTerm", "")))
            if term is None or int(term.group(1)) not in (1, 3):
                report.skip(ref, f"unknown reservationTerm ('{item.get('reservationTerm')}')")
                continue
            years = int(term.group(1))
            hourly = price / (HOURS_PER_YEAR * years)
            setattr(row, f"reserved_{years}y", round(hourly, 6))
        else:
            report.skip(ref, f"unknown type ('{kind}')")
    return list(merged.values())
