"""What the demo says at its end: how to keep exploring."""

from __future__ import annotations

import logging
from pathlib import Path

from tfpipe.demo.command import how_to_explore, quiet_logs


def test_the_end_of_the_demo_says_how_to_leave_the_stack_up():
    [line] = how_to_explore(Path("/s"), kept=False, github="http://127.0.0.1:9")
    assert "`tfpipe demo --keep`" in line and "DEMO_ARGS=--keep" in line and "pull request pages" in line


def test_with_the_stack_left_up_it_gives_the_pull_request_pages_the_app_and_the_commands():
    text = "\n".join(how_to_explore(Path("/s"), kept=True, github="http://127.0.0.1:9", pull_request=1,
                                    prod_url="http://127.0.0.1:7/", checkout=Path("/s/work/guestbook")))
    assert "until Ctrl-C" in text
    assert "pull request pages: http://127.0.0.1:9/" in text and "http://127.0.0.1:9/demo/guestbook/pull/1" in text
    assert "the app on prod: http://127.0.0.1:7/" in text
    assert "tfpipe runs --state-dir /s" in text and 'eval "$(tfpipe local env --state-dir /s)"' in text
    assert "push from /s/work/guestbook" in text


def test_the_demo_gives_the_loggers_back_so_later_log_lines_are_not_swallowed(tmp_path, capsys):
    from chalicelib import logs

    logs.configure()
    with quiet_logs(tmp_path / "stack.log"):
        logging.getLogger("tfpipe.tasks").info("during the demo")
    logging.getLogger("tfpipe.tasks").info("after the demo")
    assert "during the demo" in (tmp_path / "stack.log").read_text()
    assert "after the demo" in capsys.readouterr().err
