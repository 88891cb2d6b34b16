"""Run every benchmark and print its table: `make bench`, or `python benchmarks/run.py`.

Each benchmark runs as its own process with this interpreter; `--quick` is passed on.
Exits non-zero if any of them fails. Results go to benchmarks/results/*.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = (
    "bench_core.py",
    "bench_gateway.py",
    "bench_cluster.py",
    "bench_chat.py",
    "bench_calls.py",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of each benchmark")
    args = parser.parse_args(argv)
    failed = []
    for name in BENCHMARKS:
        script = HERE / name
        print(f"== {name}", flush=True)
        if not script.exists():
            print(f"{script} does not exist yet: skipped\n", flush=True)
            continue
        command = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        began = time.monotonic()
        # The table goes to standard output, progress to standard error: both pass through.
        code = subprocess.run(command, check=False).returncode
        print(f"({name}: exit {code} after {time.monotonic() - began:.0f} s)\n", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
