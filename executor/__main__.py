"""`python -m executor` from a checkout or the dev virtualenv, where `executor/` is this folder (the
image's build context) rather than the package: put the package's folder first on sys.path and run
the real entry point, `executor/executor/__main__.py`. The image copies the package alone to /app,
so this file never runs there."""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
for name in [m for m in sys.modules if m == "executor" or m.startswith("executor.")]:
    del sys.modules[name]  # the folder was imported as a namespace package; the package replaces it
runpy.run_module("executor", run_name="__main__", alter_sys=True)
