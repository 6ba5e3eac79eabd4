"""Operator-side tools: the `tfpipe` CLI and the embedded stack. Never shipped in a Lambda bundle."""
