# The roles the pipeline's Terraform jobs assume in one target account, one per trust tier
# (docs/security.md, "Trust tiers and isolation"); apply this module in every account named in the
# pipeline's `environments` and `ephemeral_account_id` (output `target_accounts` of terraform/ says
# which roles each needs):
#
#   tfpipe-plan     always; read-only (speculative plans of pull requests, custom read-only commands).
#                   Trusts only the plan tier's job role; reads state, never writes it or its lock.
#   tfpipe-deploy   when the account holds long-lived environments. Trusts only the apply tier's job
#                   role; reads and writes the state of exactly those environments.
#   tfpipe-preview  in the preview account (ephemeral pr-<N> environments). Trusts only the preview
#                   tier's job role; reads and writes ephemeral state only, never a long-lived one's.
#
# What deploy and preview may change is the infrastructure repository's business: pass exactly the
# policies it needs. The state key patterns follow executor/executor/backend.py.
terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }
}

variable "pipeline_job_role_arns" {
  description = "The pipeline's job role of each tier (output job_role_arns of terraform/): plan, preview, apply."
  type = object({
    plan    = string
    preview = string
    apply   = string
  })

  validation {
    condition     = alltrue([for arn in values(var.pipeline_job_role_arns) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "Every pipeline_job_role_arns entry must be an IAM role ARN."
  }
}

variable "environments" {
  description = "The long-lived environments living in this account (names as in the pipeline's `environments`): the deploy role is created for them and reads and writes only their state. Empty: no deploy role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.environments : can(regex("^[a-z0-9][a-z0-9-]{0,31}$", e)) && !startswith(e, "pr-")])
    error_message = "Environments are lower-case names of letters, digits and '-'; pr-<N> names are ephemeral ones."
  }
}

variable "preview" {
  description = "This is the preview account (the pipeline's ephemeral_account_id): create the preview role, which reads and writes ephemeral pr-<N> state only."
  type        = bool
  default     = false
}

variable "deploy_role_name" {
  description = "Must match the pipeline's deploy_role_name."
  type        = string
  default     = "tfpipe-deploy"
}

variable "preview_role_name" {
  description = "Must match the pipeline's preview_role_name."
  type        = string
  default     = "tfpipe-preview"
}

variable "plan_role_name" {
  description = "Must match the pipeline's plan_role_name."
  type        = string
  default     = "tfpipe-plan"
}

variable "policy_arns" {
  description = "Managed policies granting the deploy and preview roles what the infrastructure repository's Terraform manages."
  type        = list(string)
  default     = []
}

variable "inline_policy_json" {
  description = "An inline policy document for the same purpose (null: none)."
  type        = string
  default     = null
}

variable "plan_policy_arns" {
  description = "What the plan role may read to refresh resources. A pull request's code runs with it before review, so prefer a policy that reads configuration, not data (AWS ReadOnlyAccess also reads S3 objects, table items and logs)."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}

variable "pipeline_buckets" {
  description = "The pipeline's state and artifacts buckets and key (outputs state_bucket, artifacts_bucket, kms_key_arn): Terraform runs with these roles' credentials, so they read (and, but for the plan role, write) their environments' state there and read their tier's build outputs."
  type = object({
    state_bucket     = string
    artifacts_bucket = string
    kms_key_arn      = string
  })
}

variable "max_session_seconds" {
  type    = number
  default = 3600
}

data "aws_partition" "current" {}

locals {
  state_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.pipeline_buckets.state_bucket}"
  # <owner>/<repo>/env/<environment>/terraform.tfstate and its .tflock, per long-lived environment;
  # <owner>/<repo>/ephemeral/pr-<N>/... for ephemeral ones, whose backend configuration also reads the
  # (never written) default workspace's bare key when it initialises. A named project's keys hold one
  # more segment (<owner>/<repo>/<project>/env/...), which `*` (spanning `/` in IAM) covers too.
  environment_state = [for e in var.environments : "${local.state_arn}/*/*/env/${e}/*"]
  ephemeral_state   = ["${local.state_arn}/*/*/ephemeral/pr-*"]
  ephemeral_init    = ["${local.state_arn}/terraform.tfstate"]

  roles = merge(
    {
      plan = {
        name        = var.plan_role_name
        tier        = "plan"
        policy_arns = var.plan_policy_arns
        reads       = concat(local.environment_state, var.preview ? concat(local.ephemeral_state, local.ephemeral_init) : [])
        writes      = []
      }
    },
    { for key, role in {
      deploy = {
        name        = var.deploy_role_name
        tier        = "apply"
        policy_arns = var.policy_arns
        reads       = local.environment_state
        writes      = local.environment_state
      } } : key => role if length(var.environments) > 0
    },
    { for key, role in {
      preview = {
        name        = var.preview_role_name
        tier        = "preview"
        policy_arns = var.policy_arns
        reads       = concat(local.ephemeral_state, local.ephemeral_init)
        writes      = local.ephemeral_state
      } } : key => role if var.preview
    },
  )
}

# Each role trusts its own tier's job role and no other: a pull request's plan cannot become a deploy.
data "aws_iam_policy_document" "trust" {
  for_each = local.roles
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.pipeline_job_role_arns[each.value.tier]]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each             = local.roles
  name                 = each.value.name
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = var.max_session_seconds
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = merge([
    for key, role in local.roles : { for arn in role.policy_arns : "${key} ${arn}" => { role = key, arn = arn } }
  ]...)
  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.arn
}

resource "aws_iam_role_policy" "infrastructure" {
  for_each = var.inline_policy_json == null ? {} : { for key, role in local.roles : key => role if key != "plan" }
  name     = "infrastructure"
  role     = aws_iam_role.this[each.key].id
  policy   = var.inline_policy_json
}

# State by environment, build outputs by tier. Listing stays unconditioned: S3 answers a missing state
# key (a new environment) with 404 instead of 403 only to a caller that may list the bucket.
data "aws_iam_policy_document" "pipeline_buckets" {
  for_each = local.roles

  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [local.state_arn]
  }
  dynamic "statement" {
    for_each = length(each.value.reads) > 0 ? [1] : []
    content {
      sid       = "StateRead"
      actions   = ["s3:GetObject"]
      resources = each.value.reads
    }
  }
  dynamic "statement" {
    for_each = length(each.value.writes) > 0 ? [1] : []
    content {
      sid       = "StateWrite"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = each.value.writes
    }
  }
  statement {
    sid       = "BuildOutputs"
    actions   = ["s3:GetObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.pipeline_buckets.artifacts_bucket}/runs/${each.value.tier}/*"]
  }
  statement {
    sid       = "PipelineKey"
    actions   = length(each.value.writes) > 0 ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
    resources = [var.pipeline_buckets.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "pipeline_buckets" {
  for_each = local.roles
  name     = "tfpipe-state-and-artifacts"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.pipeline_buckets[each.key].json
}

output "role_arns" {
  description = "Role key (plan, deploy, preview) => ARN, for the roles this account got."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}
