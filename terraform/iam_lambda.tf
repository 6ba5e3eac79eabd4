# One role for the Chalice functions (package_app.py points every generated function at it instead of
# Chalice's generated role), granting exactly the resources this stage created.
data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = local.names.lambda_role
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

locals {
  execution_arns = [
    for name in values(local.state_machine_names) :
    "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${name}:*"
  ]
  secret_arns = [
    for name in values(local.secret_names) :
    "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${name}-??????"
  ]
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.function_prefix}*:*"]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
      "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:TransactWriteItems",
    ]
    resources = [for t in aws_dynamodb_table.this : t.arn]
  }

  statement {
    sid       = "StartAndWatchRuns"
    actions   = ["states:StartExecution"]
    resources = values(local.state_machine_arns)
  }

  statement {
    sid       = "ReadAndStopRuns"
    actions   = ["states:DescribeExecution", "states:StopExecution", "states:GetExecutionHistory"]
    resources = local.execution_arns
  }

  statement {
    sid       = "ListRuns"
    actions   = ["states:ListExecutions"]
    resources = values(local.state_machine_arns)
  }

  # Approvals and the Batch FAILED handler answer task tokens of this stage's state machines.
  statement {
    sid       = "AnswerTaskTokens"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = values(local.state_machine_arns)
  }

  statement {
    sid     = "SubmitJobs"
    actions = ["batch:SubmitJob"]
    resources = concat([aws_batch_job_queue.jobs.arn, aws_batch_job_queue.plans.arn], [
      for tier in keys(local.tiers) : "arn:${local.partition}:batch:${local.region}:${local.account_id}:job-definition/${local.names["${tier}_job_definition"]}:*"
    ])
  }

  statement {
    sid       = "StopJobs"
    actions   = ["batch:TerminateJob"]
    resources = ["arn:${local.partition}:batch:${local.region}:${local.account_id}:job/*"]
  }

  # DescribeJobs has no resource-level permissions in IAM.
  statement {
    sid       = "DescribeJobs"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }

  statement {
    sid       = "StatusQueue"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.status.arn, aws_sqs_queue.status_dlq.arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.lambda_dlq.arn]
  }

  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.artifacts_bucket.arn}/runs/*"]
  }

  # The preview collision check (chalicelib/tasks/collisions.py) reads the long-lived environments'
  # states; listing lets a state never applied read as missing, not as access denied.
  statement {
    sid       = "ReadLongLivedState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/*/*/env/*"]
  }

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "Secrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.secret_arns
  }

  statement {
    sid       = "TtlSchedules"
    actions   = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"]
    resources = ["arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${local.names.schedule_group}/*"]
  }

  statement {
    sid       = "ListTtlSchedules"
    actions   = ["scheduler:ListSchedules"]
    resources = ["*"]
  }

  statement {
    sid       = "PassSchedulerRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.scheduler.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["scheduler.amazonaws.com"]
    }
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  # X-Ray's write actions have no resource-level permissions.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "pipeline"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
