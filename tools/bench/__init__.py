"""Performance benchmark of the backup and prune runs on the rate-limited AWS stand-in (`make bench`).

Run `python -m tools.bench [--quick] [--only NAME ...] [--json PATH]`. See docs/performance.md for what each scenario
measures, the floors and minimum call counts it is compared with, and the recorded figures. Not collected by pytest.
"""
