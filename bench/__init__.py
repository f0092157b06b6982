"""Livepanel's benchmarks: `python -m bench fanout|all|profile-table`.

See docs/performance.md.
"""
