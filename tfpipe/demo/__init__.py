"""`make demo`: the whole GitOps story on the embedded stack, every step verified."""
