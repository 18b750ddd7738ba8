#!/usr/bin/env bash
# tests/packaging/run.sh: circuit used from outside its own Bazel workspace,
# as README.md's "Installing" section says, on a clean machine:
#   0. the README's install lines are the ones run below;
#   1. CMake configures and builds the library and the unit tests;
#   2. ctest runs them;
#   3. cmake --install puts it in a temporary prefix (static library);
#   4. a CMake project with find_package(circuit REQUIRED) builds and runs;
#   5. a pkg-config build (pkg-config --cflags --libs circuit) builds and runs;
#   6. the same with a shared libcircuit (BUILD_SHARED_LIBS=ON), which, as
#      its consumer, needs no library of an optional part (the core links
#      Abseil alone);
#   7. a Bazel workspace depending on @circuit through local_repository
#      builds and runs;
#   8. a CMake project with find_package(circuit COMPONENTS prometheus)
#      builds and runs (circuit::prometheus, the optional export);
#   9. a CMake project with find_package(circuit COMPONENTS redis) builds
#      and runs (circuit::redis, the distributed mode, with Redis down);
#  10. a CMake project with find_package(circuit COMPONENTS curl) builds
#      and runs (circuit::curl, libcurl transfers behind a breaker).
#  11. a CMake project with find_package(circuit COMPONENTS grpc) builds
#      and runs (circuit::grpc, the gRPC client interceptor).
# Each step is one check; ends with "packaging: N passed, N failed".
# Needs cmake, pkg-config, g++ and bazel (./bazelw installs them).
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/packaging"
work="$(mktemp -d)"
jobs="$(nproc 2>/dev/null || echo 2)"
passed=0
failed=0
bazel_consumer=""
cleanup() {
  if [[ -n "$bazel_consumer" ]]; then (cd "$bazel_consumer" && bazel shutdown >/dev/null 2>&1); fi
  rm -rf "$work"
}
trap cleanup EXIT

# step NAME COMMAND...: runs COMMAND with its output in $work/NAME.log.
step() {
  local name=$1
  shift
  if "$@" >"$work/$name.log" 2>&1; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name (last lines of its log:)"
    tail -25 "$work/$name.log" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}

# The README's lines, run in a copy of the checkout (no build tree left in
# it), installing under $work/stage instead of the system's /usr/local.
src="$work/src"
prefix="$work/stage/usr/local"
copy_checkout() {
  mkdir -p "$src" &&
    tar -C "$root" --exclude='./bazel-*' --exclude='./build' --exclude='./.git' -cf - . |
    tar -C "$src" -xf -
}
cmake_build() {
  cd "$src" &&
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release &&
    cmake --build build -j
}
cmake_test() { cd "$src" && ctest --test-dir build; }
cmake_install() {
  cd "$src" &&
    DESTDIR="$work/stage" cmake --install build --prefix /usr/local &&
    test -f "$prefix/lib/cmake/circuit/circuitConfig.cmake" &&
    test -f "$prefix/lib/pkgconfig/circuit.pc" &&
    test -f "$prefix/include/circuit/breaker.h" &&
    test -f "$prefix/include/circuit/prometheus/collector.h" &&
    test -f "$prefix/lib/cmake/circuit/circuitPrometheusTargets.cmake" &&
    test -f "$prefix/include/circuit/redis/shared.h" &&
    test -f "$prefix/lib/cmake/circuit/circuitRedisTargets.cmake" &&
    test -f "$prefix/include/circuit/curl/easy.h" &&
    test -f "$prefix/lib/cmake/circuit/circuitCurlTargets.cmake" &&
    test -f "$prefix/include/circuit/grpc/interceptor.h" &&
    test -f "$prefix/lib/cmake/circuit/circuitGrpcTargets.cmake"
}

# The README's CMake consumer: find_package(circuit REQUIRED) (or the
# project in $3).
find_package_consumer() {
  local prefix=$1 build=$2 project=${3:-$here/consumer}
  cmake -S "$project" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" &&
    cmake --build "$build" &&
    LD_LIBRARY_PATH="$prefix/lib" "$build/app"
}

# The README's pkg-config consumer.
pkg_config_consumer() {
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  mkdir -p "$work/pkg_config" && cp "$here/consumer/app.cc" "$work/pkg_config/" &&
    cd "$work/pkg_config" &&
    # shellcheck disable=SC2046
    c++ -std=c++17 app.cc $(pkg-config --cflags --libs circuit) -o app &&
    ./app
}

# core_links_alone FILE...: no FILE (an ELF binary) needs a library of an
# optional part (hiredis, prometheus-cpp, libcurl, gRPC): those are for their
# targets only.
core_links_alone() {
  local file needed
  for file in "$@"; do
    needed=$(readelf -d "$file" | grep NEEDED) || return 1
    if grep -E 'hiredis|prometheus|libcurl|libgrpc|libprotobuf' <<<"$needed"; then
      echo "$file needs an optional part's library" >&2
      return 1
    fi
  done
}

shared_library() {
  cmake -S "$root" -B "$work/build_shared" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DCIRCUIT_BUILD_TESTS=OFF &&
    cmake --build "$work/build_shared" -j "$jobs" &&
    cmake --install "$work/build_shared" --prefix "$work/prefix_shared" &&
    test -f "$work/prefix_shared/lib/libcircuit.so" &&
    find_package_consumer "$work/prefix_shared" "$work/consumer_shared" &&
    core_links_alone "$work/prefix_shared/lib/libcircuit.so" "$work/consumer_shared/app"
}

# The README's Bazel consumer: WORKSPACE.in with this checkout's path.
bazel_workspace_consumer() {
  bazel_consumer="$work/bazel_consumer"
  mkdir -p "$bazel_consumer" &&
    cp "$here/bazel_consumer/BUILD.bazel" "$here/consumer/app.cc" "$bazel_consumer/" &&
    sed "s|@CIRCUIT@|$root|g" "$here/bazel_consumer/WORKSPACE.in" >"$bazel_consumer/WORKSPACE" &&
    cp "$here/bazel_consumer/bazelrc" "$bazel_consumer/.bazelrc" &&
    (cd "$bazel_consumer" && bazel build //:app && ./bazel-bin/app)
}

# Every line of the README's "Installing" blocks tagged
# <!-- packaging: FILE --> is (a part of) a line of FILE, here, with the
# README's /path/to/circuit standing for the checkout.
readme_lines() {
  python3 - "$root/README.md" "$here" <<'PY'
import os, re, sys
readme, here = sys.argv[1], sys.argv[2]
text = open(readme).read()
blocks = re.findall(r"<!-- packaging: (\S+) -->\n```[a-z]*\n(.*?)```", text, re.S)
if not blocks:
    sys.exit("no tagged blocks in README.md")
bad = 0
for name, body in blocks:
    lines = [l.rstrip() for l in open(os.path.join(here, name))]
    for line in body.splitlines():
        want = line.strip().replace("/path/to/circuit", "@CIRCUIT@")
        if want and not any(want in l for l in lines):
            print("README line not in %s: %s" % (name, line))
            bad += 1
print("%d blocks checked" % len(blocks))
sys.exit(1 if bad else 0)
PY
}

step readme_install_lines readme_lines
step copy_checkout copy_checkout
step cmake_build cmake_build
step ctest cmake_test
step cmake_install cmake_install
step find_package_consumer find_package_consumer "$prefix" "$work/consumer"
step pkg_config_consumer pkg_config_consumer
step shared_library_consumer shared_library
step bazel_consumer bazel_workspace_consumer
step prometheus_consumer find_package_consumer "$prefix" "$work/prometheus_consumer" \
  "$here/prometheus_consumer"
step redis_consumer find_package_consumer "$prefix" "$work/redis_consumer" \
  "$here/redis_consumer"
step curl_consumer find_package_consumer "$prefix" "$work/curl_consumer" \
  "$here/curl_consumer"
step grpc_consumer find_package_consumer "$prefix" "$work/grpc_consumer" \
  "$here/grpc_consumer"

echo "packaging: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
