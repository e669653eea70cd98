#!/usr/bin/env bash
# Reproduce docs/benchmarks.md: every part of `noloop bench`, JSON and chart into docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
make install
.venv/bin/noloop bench --backends --json docs/bench.json --plot docs/speedups.png | tee docs/bench.txt
