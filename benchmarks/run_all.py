"""`make bench`: run every benchmark script (each in its own process) and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    only = set(sys.argv[1:])
    failed = []
    for script in scripts:
        if only and script.stem not in only and script.stem.removeprefix("bench_") not in only:
            continue
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
