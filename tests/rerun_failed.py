#!/usr/bin/env python3
"""Runs the tests a `cargo test` log says failed once more, each alone.

    rerun_failed.py ROOT LOG

The suite drives real peers (nginx, MongoDB and DynamoDB servers, grpcio,
Prometheus) on a shared 2-core machine, so a test can lose a race with the
machine rather than with Periscope. A test that fails and then passes alone
is reported as FLAKY, by name, and does not fail the run; a test that fails
again fails it. Every failure stays in the log above this report.

Exit status: 0 when every failed test passed on its rerun, 1 otherwise
(including a failure this script cannot rerun, such as a doc-test).
"""
import os
import re
import subprocess
import sys

RUNNING = re.compile(r"^\s+Running (?:unittests )?(\S+) \((\S+)\)$")
DOC_TESTS = re.compile(r"^\s+Doc-tests (\S+)$")
FAILED_NAME = re.compile(r"^    (\S+)$")


def failed_tests(log_lines):
    """Yields (binary, [test names]) per test binary with failures, and
    (None, [label]) for failures that have no binary to rerun."""
    binary, names, in_failures = None, [], False
    for line in log_lines:
        line = line.rstrip("\n")
        running, doc = RUNNING.match(line), DOC_TESTS.match(line)
        if running or doc:
            binary = running.group(2) if running else None
            label = doc.group(1) if doc else None
            names, in_failures = [], False
            continue
        if line == "failures:":
            # The first "failures:" heads the captured output, the second
            # the list of names; names only ever follow the last one.
            names, in_failures = [], True
            continue
        if in_failures:
            m = FAILED_NAME.match(line)
            if m:
                names.append(m.group(1))
            elif line.startswith("test result: FAILED"):
                yield (binary, names) if binary else (None, [f"doc-tests {label}"])
                in_failures = False


def main():
    root, log = sys.argv[1], sys.argv[2]
    with open(log, errors="replace") as f:
        groups = list(failed_tests(f))
    if not groups:
        print("rerun: the log names no failed test")
        return 1
    flaky, broken = [], []
    for binary, names in groups:
        if binary is None:
            broken.extend(names)
            continue
        path = os.path.join(root, binary)
        # cargo runs a package's tests from that package's folder.
        cwd = os.path.join(root, "parsers") if "periscope_parsers-" in binary else root
        for name in names:
            print(f"\n==> rerun {name} ({binary})", flush=True)
            run = subprocess.run(
                [path, "--exact", name, "--test-threads", "1"],
                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                errors="replace")
            print(run.stdout, flush=True)
            # A name that matches no test runs nothing and exits 0.
            passed = run.returncode == 0 and "test result: ok. 1 passed" in run.stdout
            (flaky if passed else broken).append(name)
    print()
    for name in flaky:
        print(f"FLAKY (failed, then passed alone): {name}")
    for name in broken:
        print(f"FAILED again: {name}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
