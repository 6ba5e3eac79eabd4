"""The workflows' task logic: what each task Lambda of the state machines does (one module per task).

Every task receives the workflow's state (`$`, whose top level is the run: `Run.to_dict()`) and the
execution context (`$$.Execution`), plus the few static parameters its Task state sets.
"""
