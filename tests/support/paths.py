"""Where the repository is, for tests that read its files (docs, CRDs, the chart, examples)."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
