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

output "role_arn" {
  value = aws_iam_role.deploy.arn
}
