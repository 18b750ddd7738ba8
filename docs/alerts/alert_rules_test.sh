#!/usr/bin/env bash
# promtool check rules, then promtool test rules, over docs/alerts/.
set -euo pipefail
dir="$(dirname "$0")"
if [[ -n "${TEST_SRCDIR:-}" ]]; then dir="${TEST_SRCDIR}/${TEST_WORKSPACE:-circuit}/docs/alerts"; fi
if ! command -v promtool >/dev/null; then
  echo "promtool is missing (Debian's prometheus package; ./bazelw installs it)" >&2
  exit 1
fi
cd "$dir"
promtool check rules circuit_breaker.rules.yml
promtool test rules circuit_breaker.test.yml
