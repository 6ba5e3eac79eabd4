"""Bootstrap for a function uploaded to moto, run as its own process like a Lambda sandbox.

    python lambda_runtime.py <module.function> <result-file>   (cwd = the unpacked code; event on stdin)

Writes `{"result": ...}` or the Python runtime's error payload `{"error": {errorMessage, errorType,
stackTrace}}` to <result-file>; stdout and stderr stay the function's log. Stdlib only, and it
removes its own directory from sys.path so nothing of tfpipe can shadow the function's modules.
"""

import importlib
import json
import os
import sys
import time
import traceback


class Context:
    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ.get("TFPIPE_LOCAL_FUNCTION_ARN", "")
        self.aws_request_id = os.environ.get("TFPIPE_LOCAL_REQUEST_ID", "")
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(os.environ.get("TFPIPE_LOCAL_TIMEOUT", "3"))

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(handler_name: str, result_path: str) -> int:
    sys.path[0] = os.getcwd()
    outcome: dict
    try:
        module_name, _, function = handler_name.rpartition(".")
        handler = getattr(importlib.import_module(module_name), function)
        event = json.loads(sys.stdin.read() or "{}")
        outcome = {"result": handler(event, Context())}
        json.dumps(outcome)
    except Exception as exc:
        traceback.print_exc()
        outcome = {"error": {"errorMessage": str(exc), "errorType": type(exc).__name__,
                             "stackTrace": traceback.format_tb(exc.__traceback__)}}
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(outcome, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
