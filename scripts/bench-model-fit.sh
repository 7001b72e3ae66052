#!/usr/bin/env bash
# How long one fit of the power model takes (60 samples, 8 features); target under 1 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench-tools
exec .output/bench-model-fit
