# Log groups with retention and encryption. The Lambdas' groups (/aws/lambda/<function>) are added by
# package_app.py next to the functions Chalice generates, so every function has one.
locals {
  log_groups = {
    job        = local.names.job_log_group
    build      = local.names.build_log_group
    api_access = local.names.api_access_log_group
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.log_groups
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}

resource "aws_cloudwatch_log_group" "states" {
  for_each          = local.state_machine_files
  name              = "${local.names.states_log_group}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}
