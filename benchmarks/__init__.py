"""Benchmarks: each module has `run() -> dict[str, object]`; `python -m benchmarks` runs them all."""
