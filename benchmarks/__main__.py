"""Run every benchmark, print its figures readably, and end with one JSON line holding them all."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")
    )
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    figures: dict[str, Any] = {}
    for name in wanted:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name[len('bench_') :]}: {(module.__doc__ or '').strip()}", flush=True)
        result = module.run()
        width = max([32, *(len(key) for key in result)])
        for key, value in result.items():
            print(f"   {key:{width}} {value}", flush=True)
        figures.update(result)
    print(json.dumps(figures, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
