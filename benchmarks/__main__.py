"""Run every benchmark script in this folder (``python -m benchmarks``, called by ``make bench``).

Each ``benchmarks/<method>_<what>.py`` measures ours against a baseline side by side in one process and
prints ratios; this runner runs them one after another (never two at once: they share the CPU).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    folder = Path(__file__).parent
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if argv:
        scripts = [p for p in scripts if any(p.stem.startswith(name) for name in argv)]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)]).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
