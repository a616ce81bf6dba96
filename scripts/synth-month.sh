#!/usr/bin/env bash
# A synthetic month of 12345 orders for demos and tests (docs/insight.md), written as JSON
# lines to stdout or, with --database URL, into a hotline database's analysis facts.
#   scripts/synth-month.sh --month 2026-01 --plant --database sqlite://hotline.db
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p hotline-insight --example synth_month -- "$@"
