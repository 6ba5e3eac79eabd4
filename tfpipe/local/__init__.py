"""The embedded stack: the whole pipeline on one machine (DESIGN.md section 5)."""
