# Every name carries the workspace (or the environment, in the default workspace), so each
# pr-<N> ephemeral environment stands alone next to the long-lived ones.
locals {
  suffix = terraform.workspace == "default" ? var.environment : terraform.workspace
  name   = "${var.app_name}-${local.suffix}"
}

resource "aws_dynamodb_table" "guestbook" {
  # checkov:skip=CKV_AWS_119:Sample app: the AWS owned key avoids a KMS key's monthly cost in every pr-<N> environment; use a CMK for real data.
  name         = local.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = local.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "Table"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.guestbook.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.app.arn}:*"]
  }
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "app" {
  name   = "guestbook"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_338:Sample app: pr-<N> environments live hours; the retention is a variable (prod.tfvars keeps 90 days).
  # checkov:skip=CKV_AWS_158:Sample app: request logs hold no personal data beyond what the guestbook shows publicly; a CMK per environment costs more than the app.
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "app" {
  # checkov:skip=CKV_AWS_117:The app talks only to DynamoDB's public endpoint; a VPC would need NAT or endpoints per environment.
  # checkov:skip=CKV_AWS_116:Invoked synchronously through its function URL: a failed request is answered, there is no event to dead-letter.
  # checkov:skip=CKV_AWS_272:The package is built by the pipeline from the reviewed commit; code signing needs a signing profile the sample does not assume.
  # checkov:skip=CKV_AWS_173:The environment holds only the table name and environment name, nothing secret.
  function_name = local.name
  role          = aws_iam_role.app.arn
  runtime       = "python3.12"
  handler       = "handler.handler"
  memory_size   = var.memory_mib
  timeout       = 10
  s3_bucket     = var.artifacts_bucket
  s3_key        = var.app_package_key

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      TABLE_NAME  = aws_dynamodb_table.guestbook.name
      ENVIRONMENT = local.suffix
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.app, aws_cloudwatch_log_group.app]
}

# Public on purpose: it is the app's front door. Abuse is bounded by reserved concurrency.
resource "aws_lambda_function_url" "app" {
  # checkov:skip=CKV_AWS_258:The guestbook is a public web app; its URL has no IAM auth by design.
  function_name      = aws_lambda_function.app.function_name
  authorization_type = "NONE"
}

# An auth type of NONE still needs the function's resource policy to let anyone in. hashicorp/aws 5.x
# adds the `lambda:InvokeFunctionUrl` statement (FunctionURLAllowPublicAccess) itself when it creates
# the URL; function URLs created since October 2025 also need `lambda:InvokeFunction`, which it does not
# add, and without which AWS answers the URL with 403.
resource "aws_lambda_permission" "url_invoke" {
  # checkov:skip=CKV_AWS_301:The guestbook is public through its URL on purpose; this is the statement AWS requires for that URL.
  statement_id  = "FunctionURLAllowInvokeAction"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.app.function_name
  principal     = "*"

  # After the URL, whose creation adds the other statement: the function's one resource policy is
  # edited one change at a time.
  depends_on = [aws_lambda_function_url.app]
}
