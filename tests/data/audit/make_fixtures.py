"""Writes focus.csv and requests.csv, the audit fixtures (run: python make_fixtures.py).

48 hours from Monday 2024-09-02 00:00 UTC. What is in them, and so what the audit must find
(tests/test_audit.py works each finding out by hand from this list):

focus.csv (FOCUS 1.0 columns, a subset, plus x_UsageType and SkuPriceDetails)
- chat: 4 on-demand g6.xlarge every hour at $1.00/h (one row per hour, instance type in
  x_UsageType, tagged workload=chat)                                     48 rows, $192.00
- embed: 1 on-demand g5.xlarge every hour at $0.50/h (instance type in SkuPriceDetails,
  resource name embed-worker-1, no workload tag)                         48 rows, $24.00
- one untagged on-demand g6.xlarge hour (instance type in ResourceType)   1 row,   $1.00
- an unused g6.xlarge reservation over the second day, $0.60/h
  (PricingCategory Committed, CommitmentDiscountStatus Unused)           24 rows, $14.40
- a p4d.24xlarge hour: an accelerator instance not in the test catalog    1 row,  $32.77
- not accelerators: a c5.large hour $0.085, S3 storage $2.30, a credit -$5.00   3 rows
BilledCost total: 192 + 24 + 1 + 14.4 + 32.77 + 0.085 + 2.3 - 5 = 261.555

requests.csv
- chat: 12 requests in every hour, 54 in Monday 14:00 (618 in all); every 10th request (index
  9, 19, ...) has TTFT 800 ms against the SLO's 500 ms (61 requests); every 5th (index 4, 9,
  ...) repeats the previous request's prompt hash a few minutes later (123 repeats)
- embed: 1 request per hour (48), no prompt hash
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

HERE = Path(__file__).parent
START = dt.datetime(2024, 9, 2, tzinfo=dt.timezone.utc)
HOURS = 48
COLUMNS = ("BilledCost", "EffectiveCost", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
           "ChargeDescription", "CommitmentDiscountId", "CommitmentDiscountStatus",
           "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice",
           "PricingCategory", "ProviderName", "RegionId", "ResourceId", "ResourceName",
           "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceDetails", "Tags",
           "x_UsageType")


def stamp(hour: int) -> str:
    return (START + dt.timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")


def row(hour: int, cost: float, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "BilledCost": f"{cost:.4f}", "EffectiveCost": f"{cost:.4f}", "ChargePeriodStart": stamp(hour),
        "ChargePeriodEnd": stamp(hour + 1), "ChargeCategory": "Usage", "ProviderName": "AWS",
        "RegionId": "us-east-1", "PricingCategory": "Standard", "ConsumedUnit": "Hours",
        "ServiceCategory": "Compute", "ServiceName": "Amazon Elastic Compute Cloud",
        "CommitmentDiscountStatus": "NULL", "Tags": "{}"}
    base.update(fields)
    return base


def focus_rows() -> list[dict[str, object]]:
    rows = []
    for hour in range(HOURS):
        rows.append(row(hour, 4.0, ConsumedQuantity=4, ListUnitPrice=1.0, SkuId="SKUG6",
                        ChargeDescription="On Demand Linux instance hours",
                        x_UsageType="USE1-BoxUsage:g6.xlarge", ResourceType="instance",
                        ResourceId=f"i-chat{hour % 4}", Tags=json.dumps({"workload": "chat"})))
        rows.append(row(hour, 0.5, ConsumedQuantity=1, SkuId="SKUG5", ResourceType="instance",
                        SkuPriceDetails=json.dumps({"InstanceType": "g5.xlarge"}),
                        ResourceName="embed-worker-1", ResourceId="i-embed1",
                        Tags=json.dumps({"team": "search"})))
    rows.append(row(7, 1.0, ConsumedQuantity=1, SkuId="SKUG6", ResourceType="g6.xlarge",
                    ResourceId="i-adhoc"))
    for hour in range(24, HOURS):
        rows.append(row(hour, 0.6, ConsumedQuantity=1, PricingCategory="Committed",
                        CommitmentDiscountStatus="Unused", CommitmentDiscountType="Reserved Instance",
                        CommitmentDiscountId="ri-g6-1", SkuId="SKUG6RI",
                        ChargeDescription="Unused reservation hours, g6.xlarge"))
    rows.append(row(3, 32.77, ConsumedQuantity=1, SkuId="SKUP4D",
                    ChargeDescription="$32.77 per On Demand Linux p4d.24xlarge Instance Hour"))
    rows.append(row(5, 0.085, ConsumedQuantity=1, SkuId="SKUC5",
                    ChargeDescription="$0.085 per On Demand Linux c5.large Instance Hour"))
    rows.append(row(0, 2.3, ConsumedQuantity=100, ConsumedUnit="GB-Mo", ServiceCategory="Storage",
                    ServiceName="Amazon Simple Storage Service", SkuId="SKUS3",
                    ChargeDescription="$0.023 per GB-month of storage"))
    rows.append(row(0, -5.0, ChargeCategory="Credit", PricingCategory="Other", ConsumedQuantity="NULL",
                    ConsumedUnit="NULL", ServiceCategory="Other", SkuId="SKUCREDIT",
                    ChargeDescription="Promotional credit"))
    return rows


def request_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    index = 0
    for hour in range(HOURS):
        start = START + dt.timedelta(hours=hour)
        count = 54 if hour == 14 else 12
        for i in range(count):
            ttft = 800 if index % 10 == 9 else 200
            prompt = index - 1 if index % 5 == 4 else index
            rows.append({"timestamp": (start + dt.timedelta(seconds=1 + i * 3600 // count)).isoformat(),
                         "workload": "chat", "prompt_tokens": 500, "output_tokens": 100,
                         "latency_ms": ttft + 2000, "ttft_ms": ttft, "prompt_hash": f"p{prompt}"})
            index += 1
        rows.append({"timestamp": int((start + dt.timedelta(minutes=30)).timestamp()),
                     "workload": "embed", "prompt_tokens": 200, "output_tokens": 1,
                     "latency_ms": 60, "ttft_ms": 50, "prompt_hash": ""})
    return rows


def write(path: Path, columns: tuple[str, ...] | list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns), restval="NULL", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    write(HERE / "focus.csv", COLUMNS, focus_rows())
    write(HERE / "requests.csv", ["timestamp", "workload", "prompt_tokens", "output_tokens",
                                  "latency_ms", "ttft_ms", "prompt_hash"], request_rows())
