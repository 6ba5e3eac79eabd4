"""Every Lambda entry point of tfpipe. Each handler parses its event, calls one function in
chalicelib, and shapes the answer; the logic lives in chalicelib/ (see DESIGN.md section 2)."""

from chalice import Chalice

from chalicelib import logs
from chalicelib.api import respond
from chalicelib.wiring import container

app = Chalice(app_name="tfpipe", configure_logs=False)
logs.configure()

# -- Intake: GitHub webhooks and dispatch (issue 2) -------------------------------------------------


@app.route("/webhooks/github", methods=["POST"], content_types=["application/json"])
def github_webhook():
    request = app.current_request
    return respond(lambda: container().intake.webhook(request.headers, request.raw_body))


@app.route("/dispatch", methods=["POST"], content_types=["application/json"])
def dispatch():
    request = app.current_request
    return respond(lambda: container().intake.dispatch(request.headers, request.raw_body))
