# One state machine per file in statemachines/ (<workflow>.asl.json, workflow as in names.json), its
# ${Placeholders} filled by templatefile from asl_placeholders.tf. STANDARD type: the workflows wait on
# task tokens for hours (jobs, approvals), which EXPRESS cannot.
locals {
  statemachines_dir = "${path.module}/../statemachines"
  state_machine_files = {
    for f in fileset(local.statemachines_dir, "*.asl.json") : trimsuffix(f, ".asl.json") => "${local.statemachines_dir}/${f}"
  }
}

resource "aws_sfn_state_machine" "this" {
  # checkov:skip=CKV_AWS_285:It asks for execution data in the logs; that data carries task tokens (job and approval steps), which would let any reader of the logs answer a run. Execution history stays in Step Functions itself.
  for_each   = local.state_machine_files
  name       = local.state_machine_names[each.key]
  role_arn   = aws_iam_role.states.arn
  type       = "STANDARD"
  definition = templatefile(each.value, local.asl_substitutions)

  # Every state's entry, exit and error, without its input and output: execution data carries the task
  # tokens of the job and approval steps (`$$.Task.Token`), which answer the workflow to whoever reads
  # them, and whoever may read these logs need not be who may approve a run.
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.states[each.key].arn}:*"
    include_execution_data = false
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.pipeline.arn
    kms_data_key_reuse_period_seconds = 300
  }
}
