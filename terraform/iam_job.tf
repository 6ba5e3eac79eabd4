# The Terraform job's own role (what the executor does) and the execution role (what Fargate does to
# start it: pull the image, write logs). Terraform's changes to an environment are made through the
# deploy role it assumes in that environment's account, never with these.
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "job" {
  name               = local.names.job_role
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role" "job_execution" {
  name               = local.names.job_execution_role
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

locals {
  repository_secrets_prefix = var.repository_secrets_prefix == "" ? "${var.app_name}/${var.stage}/repos/" : var.repository_secrets_prefix
  deploy_role_accounts      = distinct(concat(values(var.environments), var.ephemeral_account_id == "" ? [] : [var.ephemeral_account_id]))
  deploy_role_arns = length(local.deploy_role_accounts) > 0 ? [
    for account in local.deploy_role_accounts : "arn:${local.partition}:iam::${account}:role/${var.deploy_role_name}"
  ] : ["arn:${local.partition}:iam::${local.account_id}:role/${var.deploy_role_name}"]
  cross_account_deploy_roles = [for arn in local.deploy_role_arns : arn if !strcontains(arn, ":${local.account_id}:")]
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "RunArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.artifacts_bucket.arn}/runs/*"]
  }

  statement {
    sid       = "StateBucketList"
    actions   = ["s3:ListBucket"]
    resources = [module.state_bucket.arn]
  }

  # State objects and their S3 native lock files (<key>.tflock).
  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.state_bucket.arn}/*"]
  }

  statement {
    sid       = "Callbacks"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = values(local.state_machine_arns)
  }

  statement {
    sid       = "StatusEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.status.arn]
  }

  # The GitHub token for checkouts, and the secrets repositories declare in tfpipe.yml (by name prefix).
  statement {
    sid     = "Secrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.secret_names.github_token}-??????",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.repository_secrets_prefix}*",
    ]
  }

  statement {
    sid       = "AssumeDeployRoles"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = local.deploy_role_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["job"].arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "terraform-job"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

data "aws_iam_policy_document" "job_execution" {
  # GetAuthorizationToken has no resource-level permissions in IAM.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullExecutorImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.executor.arn]
  }

  statement {
    sid       = "ImageKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.pipeline.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["job"].arn}:*"]
  }
}

resource "aws_iam_role_policy" "job_execution" {
  name   = "pull-and-log"
  role   = aws_iam_role.job_execution.id
  policy = data.aws_iam_policy_document.job_execution.json
}
