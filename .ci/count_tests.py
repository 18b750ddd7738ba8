#!/usr/bin/env python3
"""Counts passed and failed test cases under a bazel-testlogs tree.

Reads each target's test.xml (GoogleTest's JUnit XML, or the one Bazel
writes for a target that crashed) and prints "PASSED FAILED". A target whose
XML records no test case but whose test.log says it failed counts as one
failure, so a crash is never silent.
"""
import os
import sys
import xml.etree.ElementTree as ET


def count(root):
    passed = failed = 0
    for dirpath, _, filenames in os.walk(root, followlinks=True):
        if "test.xml" not in filenames:
            continue
        path = os.path.join(dirpath, "test.xml")
        try:
            tree = ET.parse(path)
        except ET.ParseError:
            failed += 1
            continue
        cases = list(tree.iter("testcase"))
        if not cases:
            failed += 1
            continue
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.get("status") == "notrun" or case.find("skipped") is not None:
                continue
            else:
                passed += 1
    return passed, failed


if __name__ == "__main__":
    p, f = count(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    print(p, f)
