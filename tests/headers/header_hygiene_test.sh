#!/usr/bin/env bash
# Every public header compiles alone (it includes what it uses) and all of
# them together, without a single warning under the flags a strict consumer
# builds with, with both g++ and clang++ when installed:
#   -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror
# The headers are passed with -I (not -isystem, as Bazel's `includes` would),
# so that their warnings are not hidden; Abseil's come from /usr/include.
#
#   tests/headers/header_hygiene_test.sh [INCLUDE_DIR]   (default: include)
set -uo pipefail

include_dir="${1:-include}"
if [[ -n "${TEST_SRCDIR:-}" ]]; then
  include_dir="${TEST_SRCDIR}/${TEST_WORKSPACE:-circuit}/include"
fi
if [[ ! -d "$include_dir/circuit" ]]; then
  echo "no headers under $include_dir/circuit" >&2
  exit 1
fi

flags=(-std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
       -Wshadow -Werror -I "$include_dir" -x c++)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mapfile -t headers < <(cd "$include_dir" && find circuit -name '*.h' | LC_ALL=C sort)
if [[ ${#headers[@]} -eq 0 ]]; then
  echo "no headers found" >&2
  exit 1
fi

compilers=()
for cxx in g++ clang++; do
  if command -v "$cxx" >/dev/null; then compilers+=("$cxx"); fi
done
if [[ ${#compilers[@]} -eq 0 ]]; then
  echo "no C++ compiler" >&2
  exit 1
fi

failures=0
checks=0
check() {  # check COMPILER LABEL SOURCE
  local cxx=$1 label=$2 source=$3
  checks=$((checks + 1))
  if ! output=$("$cxx" "${flags[@]}" "$source" 2>&1) || [[ -n "$output" ]]; then
    echo "FAIL [$cxx] $label" >&2
    echo "$output" | head -20 >&2
    failures=$((failures + 1))
  fi
}

all="$work/all.cc"
: >"$all"
for header in "${headers[@]}"; do
  alone="$work/$(echo "$header" | tr '/.' '__').cc"
  printf '#include "%s"\n' "$header" >"$alone"
  printf '#include "%s"\n' "$header" >>"$all"
  for cxx in "${compilers[@]}"; do check "$cxx" "$header alone" "$alone"; done
done
for cxx in "${compilers[@]}"; do check "$cxx" "all ${#headers[@]} headers together" "$all"; done

echo "header hygiene: $checks compilations (${compilers[*]}; ${#headers[@]} headers), $failures failed"
[[ $failures -eq 0 ]]
