"""Versioned suite files (JSONL, format in docs/evals.md) and the generators that write them."""

from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent
PEDAGOGY_CORE = SUITES_DIR / "pedagogy-core.jsonl"
