"""Benchmarks (``make bench``); never part of ``make test`` beyond a smoke run."""
