"""Medians across series of the per-series holdout rows of several replay reports.

Usage: forecast_table.py REPORT.json...  Each report's `sections.forecasts.second_half.
per_series` rows are pooled; per horizon the script prints the median over series of each
forecaster's MASE and median sMAPE, and the interval coverage over all points (the same
reduction as `replay::forecast_holdout::holdout`, across reports).
"""
import json
import statistics
import sys

rows = []
for path in sys.argv[1:]:
    with open(path) as f:
        rows += json.load(f)["sections"]["forecasts"]["second_half"]["per_series"]
names = ["fabric-ai", "naive", "EWMA 0.3", "damped Holt"]
print("| horizon (5-min steps) | series | points | "
      + " | ".join(f"{n} MASE" for n in names) + " | "
      + " | ".join(f"{n} sMAPE %" for n in names) + " | 80% coverage | 95% coverage |")
print("| ---: " * (3 + 2 * len(names) + 2) + "|")
for h in sorted({r["horizon"] for r in rows}):
    group = [r for r in rows if r["horizon"] == h]
    points = sum(r["points"] for r in group)
    mase = [statistics.median(r["mase"][k] for r in group) for k in range(4)]
    smape = [statistics.median(r["smape_median"][k] for r in group) for k in range(4)]
    c80 = sum(r["inside_80"] for r in group) / points
    c95 = sum(r["inside_95"] for r in group) / points
    print(f"| {h} | {len(group)} | {points} | "
          + " | ".join(f"{m:.3f}" for m in mase) + " | "
          + " | ".join(f"{s:.1f}" for s in smape) + f" | {c80:.3f} | {c95:.3f} |")
print()
print("| series | h | fabric-ai | naive | EWMA | Holt |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for r in sorted(rows, key=lambda r: (r["series"], r["horizon"])):
    print(f"| `{r['series']}` | {r['horizon']} | " + " | ".join(f"{m:.3f}" for m in r["mase"]) + " |")
