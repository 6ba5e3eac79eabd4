# The role the pipeline's Terraform job assumes in a target account (one per environment account):
# apply this module there, with the job role ARN from the pipeline's output `job_role_arn`. What the
# role may change is the infrastructure repository's business: pass exactly the policies it needs.
terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }
}

variable "role_name" {
  description = "Must match the pipeline's deploy_role_name."
  type        = string
  default     = "tfpipe-deploy"
}

variable "pipeline_job_role_arn" {
  description = "ARN of the pipeline's Terraform job role (output job_role_arn of terraform/)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.pipeline_job_role_arn))
    error_message = "pipeline_job_role_arn must be an IAM role ARN."
  }
}

variable "policy_arns" {
  description = "Managed policies granting what the infrastructure repository's Terraform manages."
  type        = list(string)
  default     = []
}

variable "inline_policy_json" {
  description = "An inline policy document for the same purpose (null: none)."
  type        = string
  default     = null
}

variable "pipeline_buckets" {
  description = "The pipeline's state and artifacts buckets and key (outputs state_bucket, artifacts_bucket, kms_key_arn): Terraform runs with this role's credentials, so it reads and writes state there and reads build outputs. Null when the role lives in the pipeline's account and gets that access otherwise."
  type = object({
    state_bucket     = string
    artifacts_bucket = string
    kms_key_arn      = string
  })
  default = null
}

variable "max_session_seconds" {
  type    = number
  default = 3600
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = [var.pipeline_job_role_arn]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.role_name
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_seconds
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each   = toset(var.policy_arns)
  role       = aws_iam_role.deploy.name
  policy_arn = each.value
}

resource "aws_iam_role_policy" "deploy" {
  count  = var.inline_policy_json == null ? 0 : 1
  name   = "infrastructure"
  role   = aws_iam_role.deploy.id
  policy = var.inline_policy_json
}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "pipeline_buckets" {
  count = var.pipeline_buckets == null ? 0 : 1

  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.pipeline_buckets.state_bucket}"]
  }
  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.pipeline_buckets.state_bucket}/*"]
  }
  statement {
    sid       = "BuildOutputs"
    actions   = ["s3:GetObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.pipeline_buckets.artifacts_bucket}/runs/*"]
  }
  statement {
    sid       = "PipelineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.pipeline_buckets.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "pipeline_buckets" {
  count  = var.pipeline_buckets == null ? 0 : 1
  name   = "tfpipe-state-and-artifacts"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.pipeline_buckets[0].json
}

output "role_arn" {
  value = aws_iam_role.deploy.arn
}
