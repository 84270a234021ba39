#!/usr/bin/env bash
# Builds the native ring's stress test with ThreadSanitizer and runs it. Exit 0 only when every
# message arrived in order and intact and TSan found no race (TSan makes a race exit non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
out=build/sanitize_stress
g++ -std=gnu++20 -O1 -g -fsanitize=thread -pthread implementations/native/test/sanitize_stress.cc -o "$out"
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$out" "${1:-200000}"
