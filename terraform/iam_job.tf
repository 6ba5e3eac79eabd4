# The Terraform jobs' own roles, one per trust tier (what the executor does), and the execution role
# (what Fargate does to start a job: pull the image, write logs). Terraform's changes to an environment
# are made through the target role it assumes in that environment's account, never with these.
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
  for_each           = local.tiers
  name               = local.names["${each.key}_job_role"]
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role" "job_execution" {
  name               = local.names.job_execution_role
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

locals {
  repository_secrets_prefix = var.repository_secrets_prefix == "" ? "${var.app_name}/${var.stage}/repos/" : var.repository_secrets_prefix
}

# What sets the tiers apart (tiers.tf); a pull request's code runs inside plan and preview jobs and can
# reach the job role's credentials, so this is all it gets. State is not here: Terraform reads and
# writes state with the target role's credentials, never with the job role's.
data "aws_iam_policy_document" "job_tier" {
  for_each = local.tiers

  statement {
    sid       = "AssumeTierTargetRoles"
    actions   = ["sts:AssumeRole"]
    resources = local.target_role_arns[each.key]
  }

  statement {
    sid       = "TierArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.artifacts_bucket_arn}/runs/${each.key}/*"]
  }

  statement {
    sid       = "TierCallbacks"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = [for workflow in each.value.workflows : local.state_machine_arns[workflow]]
  }

  # Only the repositories' secrets (repository_secrets, by name prefix); the pipeline's own secrets,
  # the GitHub token included, are out of reach: submit_job hands a clone its token through the
  # tokens table. (ARNs built from names, so the policy is known at plan time and tests can read it.)
  statement {
    sid       = "RepositorySecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.repository_secrets_prefix}*"]
  }

  # The job's own task token (and clone token), which submit_job left under its run id and job key.
  # IAM cannot narrow this to one run's item: the key's random part and the tier split bound it.
  statement {
    sid       = "TaskToken"
    actions   = ["dynamodb:GetItem", "dynamodb:DeleteItem"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.names.tokens_table}"]
  }
}

resource "aws_iam_role_policy" "job_tier" {
  for_each = local.tiers
  name     = "tier"
  role     = aws_iam_role.job[each.key].id
  policy   = data.aws_iam_policy_document.job_tier[each.key].json
}

# What every tier's job does alike: report progress, use the key, log and trace.
data "aws_iam_policy_document" "job" {
  statement {
    sid       = "StatusEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.status.arn]
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
  for_each = local.tiers
  name     = "terraform-job"
  role     = aws_iam_role.job[each.key].id
  policy   = data.aws_iam_policy_document.job.json
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
