"""Pure domain code: requests, workflows, plans, comments, TTLs, events. No I/O, no boto3, no PyGithub."""
