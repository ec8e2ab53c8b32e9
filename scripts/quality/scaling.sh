#!/bin/sh
# Scaling evaluation (docs/quality.md, "Scaling"): the ELB request counts (requests per
# 5 minutes, divided by 5 into requests per minute, 5-minute windows) and the two Azure LLM
# request traces (requests per minute, 1-minute windows) replayed as `throughput_ops` demand
# with scripts/quality/scaling.toml; each prints its `scaling:` line.
# Usage: scripts/quality/scaling.sh [fabric-ai binary] [output directory]
set -eu
BIN=${1:-target/debug/fabric-ai}
OUT=${2:-/tmp/fabric-scaling}
DATA=$(dirname "$0")/../../../shared/data
CONFIG=$(dirname "$0")/scaling.toml
"$BIN" replay --series "$DATA/nab-dev/realAWSCloudwatch/elb_request_count_8c0756.csv" \
    --series-metric throughput_ops --series-divisor 5 --config "$CONFIG" \
    --out "$OUT/elb" --no-progress 2>&1 | grep '^scaling:'
for trace in conv code; do
    FABRIC_AI__SCALING__INTERVAL=1m "$BIN" replay \
        --series "$DATA/azure-llm/AzureLLMInferenceTrace_$trace.csv" \
        --series-metric throughput_ops --series-divisor 1 --config "$CONFIG" \
        --out "$OUT/azure-$trace" --no-progress 2>&1 | grep '^scaling:'
done
