#!/usr/bin/env bash
# What the Prometheus endpoint costs at 1,000 targets: one interval's update and text in the
# measuring loop, and one scrape over loopback (target: well under 10 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s .output/bench-prometheus
exec .output/bench-prometheus
