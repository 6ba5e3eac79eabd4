# Every ${Placeholder} the state machines in statemachines/ may use, and its value: the task Lambdas'
# ARNs from names.json's asl_functions (shared with the embedded stack), and the others below. Keep one
# `Key = value` per line: tests/infra/test_asl_placeholders.py reads the keys from this block and
# names.json and checks that every placeholder in every ASL file is supplied (templatefile also refuses
# a missing one at plan time).
locals {
  asl_function_arns = {
    for placeholder, function in local.names_doc.asl_functions : placeholder => "${local.function_arn_prefix}${function}"
  }
  asl_substitutions = merge(local.asl_function_arns, {
    Partition                     = local.partition
    Region                        = local.region
    AccountId                     = local.account_id
    PlanStateMachineArn           = local.state_machine_arns["plan"]
    PlanApplyStateMachineArn      = local.state_machine_arns["plan-apply"]
    ApplyEphemeralStateMachineArn = local.state_machine_arns["apply-ephemeral"]
    DestroyStateMachineArn        = local.state_machine_arns["destroy"]
    ModifyCronStateMachineArn     = local.state_machine_arns["modify-cron"]
    CustomStateMachineArn         = local.state_machine_arns["custom"]
    StatusQueueUrl                = aws_sqs_queue.status.url
    StatusQueueArn                = aws_sqs_queue.status.arn
    LocksTable                    = local.names.locks_table
    RunsTable                     = local.names.runs_table
    ArtifactsBucket               = local.names.artifacts_bucket
    ScheduleGroup                 = local.names.schedule_group
    SchedulerRoleArn              = aws_iam_role.scheduler.arn
    FunctionArnPrefix             = local.function_arn_prefix
  })
}
