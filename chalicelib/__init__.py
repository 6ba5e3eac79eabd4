"""The pipeline's logic, shipped inside the Lambda bundle.

`core/` is pure (no boto3, no PyGithub, no I/O); `adapters/` talk to AWS, GitHub, Slack and Git
behind the interfaces in `ports.py`; `wiring.py` builds them once from `settings.Settings`.
"""
