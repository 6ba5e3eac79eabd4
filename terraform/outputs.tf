# The webhook and dispatch URLs come from the Chalice part of this root (package_app.py adds the
# outputs `api_url`, `webhook_url` and `dispatch_url` to chalice.tf.json).
output "state_machine_arns" {
  description = "Workflow => state machine ARN."
  value       = { for workflow, sm in aws_sfn_state_machine.this : workflow => sm.arn }
}

output "status_queue_url" {
  value = aws_sqs_queue.status.url
}

output "status_dlq_url" {
  value = aws_sqs_queue.status_dlq.url
}

output "job_queue_arns" {
  description = "Trust tier => the job queue its jobs go to (plans: Spot first when enabled; previews and applies: on-demand)."
  value       = local.tier_queue_arns
}

output "job_definition_arns" {
  description = "Trust tier => its job definition."
  value       = { for tier, definition in aws_batch_job_definition.executor : tier => definition.arn }
}

output "executor_repository_url" {
  value = aws_ecr_repository.executor.repository_url
}

output "executor_build_project" {
  value = aws_codebuild_project.executor.name
}

output "artifacts_bucket" {
  value = module.artifacts_bucket.bucket
}

output "state_bucket" {
  value = module.state_bucket.bucket
}

output "secret_arns" {
  description = "Secrets to fill out of band (aws secretsmanager put-secret-value)."
  value       = { for key, s in aws_secretsmanager_secret.this : key => s.arn }
}

output "lambda_role_arn" {
  value = aws_iam_role.lambda.arn
}

output "job_role_arns" {
  description = "Trust tier => its job role; modules/deploy-role's pipeline_job_role_arns (each target role trusts only its tier's)."
  value       = { for tier, role in aws_iam_role.job : tier => role.arn }
}

output "scheduler_role_arn" {
  value = aws_iam_role.scheduler.arn
}

output "kms_key_arn" {
  value = aws_kms_key.pipeline.arn
}

output "lambda_environment" {
  description = "The TFPIPE_* settings every pipeline Lambda gets (no secrets: secrets are fetched by name)."
  value       = local.lambda_environment
}
