"""The local GitHub stand-in: bare Git repositories whose pushes become signed webhooks, pull
requests driven from the CLI, and the subset of GitHub's REST API the pipeline's PyGithub adapter
calls, answering from a store in the state directory."""
