"""Typed data the operator reasons about: what users declare (spec) and what CloudStack shows (snapshot)."""
