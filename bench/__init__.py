"""Livepanel's benchmarks: `python -m bench fanout|full|ingest|all|profile-table`.

See docs/performance.md.
"""
