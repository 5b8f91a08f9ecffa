#!/usr/bin/env bash
# Fifty `kill -9`s of the real binary under load (CI runs five): every transfer answered 202
# must survive and be delivered exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS="${KILLS:-50}" cargo test --release --test kill9 -- --nocapture
