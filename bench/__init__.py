"""Benchmarks and the storm load test: tools that measure Stormline, not part of the running service.

`stormline loadtest` runs `bench.loadtest`; the others run as `python -m bench.NAME` (see BENCHMARKS.md).
"""
