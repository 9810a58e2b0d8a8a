"""Benchmarks: this repo's serving path measured against its floors, a naive peer and the model
servers users would pick instead (MLServer, KServe, BentoML, the FastAPI tutorial's service).

Run with ``python -m bench`` (or ``make bench``). Every figure is a ratio taken in the same run,
side by side and interleaved, because the machine it runs on is shared and noisy.
"""
