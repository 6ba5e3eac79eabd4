"""The embedded stack: the whole pipeline on one machine (docs/architecture.md section 5)."""
