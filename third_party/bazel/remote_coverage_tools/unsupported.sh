#!/bin/sh
echo "coverage is not supported in circuit's offline Bazel build" >&2
exit 1
