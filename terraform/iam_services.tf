# Roles AWS services assume on the pipeline's behalf: Step Functions, EventBridge Scheduler, CodeBuild,
# and (optionally) API Gateway's account-wide logging role.
data "aws_iam_policy_document" "service_assume" {
  for_each = {
    states    = "states.amazonaws.com"
    scheduler = "scheduler.amazonaws.com"
    codebuild = "codebuild.amazonaws.com"
  }
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "states" {
  name               = local.names.states_role
  assume_role_policy = data.aws_iam_policy_document.service_assume["states"].json
}

# The state machines call only the task Lambdas (arn:aws:states:::lambda:invoke[.waitForTaskToken]);
# tests/infra/test_iam_coverage.py fails when an ASL file starts using an integration not granted here.
data "aws_iam_policy_document" "states" {
  statement {
    sid       = "InvokeTaskFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.function_arn_prefix}*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  # Log delivery and X-Ray actions have no resource-level permissions in IAM.
  statement {
    sid = "LogDeliveryAndTracing"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "states" {
  name   = "workflows"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}

resource "aws_iam_role" "scheduler" {
  name               = local.names.scheduler_role
  assume_role_policy = data.aws_iam_policy_document.service_assume["scheduler"].json
}

# TTL schedules start the DESTROY workflow, and nothing else.
data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartDestroy"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arns["destroy"]]
  }
  statement {
    sid       = "EncryptedInput"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-destroy"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_iam_role" "codebuild" {
  name               = local.names.codebuild_role
  assume_role_policy = data.aws_iam_policy_document.service_assume["codebuild"].json
}

data "aws_iam_policy_document" "codebuild" {
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushExecutorImage"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.executor.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["build"].arn}:*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]
    resources = [aws_kms_key.pipeline.arn]
  }
}

resource "aws_iam_role_policy" "codebuild" {
  name   = "build-executor"
  role   = aws_iam_role.codebuild.id
  policy = data.aws_iam_policy_document.codebuild.json
}

# API Gateway writes access logs through one role per account and region.
data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigateway_logs" {
  count              = var.manage_api_gateway_account ? 1 : 0
  name               = "${var.app_name}-${var.stage}-apigateway-logs"
  assume_role_policy = data.aws_iam_policy_document.apigateway_assume.json
}

resource "aws_iam_role_policy_attachment" "apigateway_logs" {
  count      = var.manage_api_gateway_account ? 1 : 0
  role       = aws_iam_role.apigateway_logs[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count               = var.manage_api_gateway_account ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.apigateway_logs[0].arn
}
