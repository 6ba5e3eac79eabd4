import json
import logging

from chalicelib import logs


def test_log_lines_are_json_carrying_the_run_id(capsys):
    logs.configure()
    token = logs.run_id.set("plan-apply-prod-abc1234-0123456789ab")
    try:
        logging.getLogger("tfpipe.tasks").info("lock taken for %s", "prod")
    finally:
        logs.run_id.reset(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "lock taken for prod"
    assert line["run_id"] == "plan-apply-prod-abc1234-0123456789ab"
    assert line["level"] == "INFO" and line["logger"] == "tfpipe.tasks"
