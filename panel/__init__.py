"""Livepanel: newsroom-style live Q&A panels."""

__version__ = "0.1.0"
