"""Adapters: AWS services, GitHub, Slack and Git behind the interfaces in `chalicelib.ports`."""
