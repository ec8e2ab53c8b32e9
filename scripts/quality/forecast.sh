#!/bin/sh
# Forecast evaluation (docs/quality.md, "Forecasts"): one replay per realAWSCloudwatch series,
# each in its own cluster, with scripts/quality/forecast.toml; then the medians across series
# of the `forecasts.second_half.per_series` rows of every report.
# Usage: scripts/quality/forecast.sh [fabric-ai binary] [output directory]
set -eu
BIN=${1:-target/debug/fabric-ai}
OUT=${2:-/tmp/fabric-forecast}
DATA=$(dirname "$0")/../../../shared/data/nab-dev/realAWSCloudwatch
CONFIG=$(dirname "$0")/forecast.toml
mkdir -p "$OUT"
ls "$DATA"/*.csv | xargs -P "${JOBS:-2}" -I{} sh -c '
    stem=$(basename "$1" .csv)
    "$2" replay --series "$1" --series-cluster "$stem" --series-metric throughput_ops \
        --series-divisor 1 --config "$3" --out "$4/$stem" --no-progress > "$4/$stem.log" 2>&1
' _ {} "$BIN" "$CONFIG" "$OUT"
python3 "$(dirname "$0")/forecast_table.py" "$OUT"/*/report.json
