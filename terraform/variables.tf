variable "region" {
  description = "AWS region the pipeline runs in."
  type        = string
  default     = "us-east-1"
}

variable "account_id" {
  description = "AWS account the pipeline runs in; when set, applying with credentials of any other account fails. Empty: no check."
  type        = string
  default     = ""

  validation {
    condition     = var.account_id == "" || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits or empty."
  }
}

variable "stage" {
  description = "Chalice stage (dev or prod, as in .chalice/config.json); part of every resource name."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.stage))
    error_message = "stage must be 2-12 lower-case letters and digits, starting with a letter."
  }
}

variable "app_name" {
  description = "Prefix of every resource name (the Chalice app_name)."
  type        = string
  default     = "tfpipe"
}

variable "name_overrides" {
  description = "Replace a name from names.json, by its key (S3 bucket names are global: override artifacts_bucket and state_bucket when the defaults are taken). The Lambdas get the overridden names through their environment."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of every log group the pipeline writes."
  type        = number
  default     = 365
}

variable "artifact_retention_days" {
  description = "Days plan files, plan JSON/text and logs stay under runs/ in the artifacts bucket."
  type        = number
  default     = 90
}

variable "allowed_repositories" {
  description = "owner/name patterns (fnmatch) of repositories the pipeline accepts events from."
  type        = list(string)
  default     = []
}

variable "environments" {
  description = "Target environments: name => 12-digit AWS account id of that environment."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.environments) : can(regex("^[0-9]{12}$", id))])
    error_message = "Every environment's account id must be 12 digits."
  }
}

variable "ephemeral_account_id" {
  description = "Account ephemeral pr-<N> environments deploy to (empty: requests must name one)."
  type        = string
  default     = ""
}

variable "deploy_role_name" {
  description = "Role apply-tier jobs (changes to long-lived environments) assume in each long-lived environment's account (arn:aws:iam::<account>:role/<name>); see modules/deploy-role."
  type        = string
  default     = "tfpipe-deploy"
}

variable "preview_role_name" {
  description = "Role preview-tier jobs (changes to ephemeral pr-<N> environments) assume in the preview account (ephemeral_account_id); see modules/deploy-role."
  type        = string
  default     = "tfpipe-preview"
}

variable "plan_role_name" {
  description = "Read-only role plan-tier jobs (speculative plans, custom read-only commands) assume in every target account; see modules/deploy-role."
  type        = string
  default     = "tfpipe-plan"
}

variable "untrusted_pull_requests" {
  description = "A pull request from a fork or from an author without write access runs nothing until a writer comments /plan: ask (comment once per head sha saying so) or ignore (say nothing)."
  type        = string
  default     = "ask"

  validation {
    condition     = contains(["ask", "ignore"], var.untrusted_pull_requests)
    error_message = "untrusted_pull_requests must be ask or ignore."
  }
}

variable "allow_self_approval" {
  description = "Whoever triggered a run or authored a commit it applies may also approve it (TFPIPE_ALLOW_SELF_APPROVAL): for one-person teams only; by default another user with write access must approve."
  type        = bool
  default     = false
}

variable "environment_approvers" {
  description = "Who alone may approve changes to a long-lived environment: name (a key of environments) => GitHub logins (case-insensitive) and IAM principal ARNs. An environment not listed may be approved by any independent user with write access or IAM caller of the approve route. Sent to the pipeline in TFPIPE_ENVIRONMENTS (name => {account_id, approvers})."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.environment_approvers) : contains(keys(var.environments), name)])
    error_message = "Every environment in environment_approvers must be declared in environments."
  }
}

variable "allowed_providers" {
  description = "Providers a repository's Terraform may use, as globs of namespace/type (public registry) or host/namespace/type; any other is refused before terraform init (TFPIPE_ALLOWED_PROVIDERS)."
  type        = list(string)
  default     = ["hashicorp/*"]

  validation {
    condition     = alltrue([for p in var.allowed_providers : can(regex("^[A-Za-z0-9*._-]+(/[A-Za-z0-9*._-]+){1,2}$", p))])
    error_message = "allowed_providers takes globs of namespace/type or host/namespace/type, e.g. hashicorp/*."
  }
}

variable "allowed_module_sources" {
  description = "Module sources allowed besides local ./ and ../ modules, as globs of the source string, e.g. git::https://github.com/acme/* (TFPIPE_ALLOWED_MODULE_SOURCES)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_module_sources : !strcontains(s, ",")])
    error_message = "allowed_module_sources entries cannot contain a comma (the job reads them comma-separated)."
  }
}

variable "github_api_url" {
  description = "GitHub API base URL (GitHub Enterprise Server: https://<host>/api/v3)."
  type        = string
  default     = "https://api.github.com"
}

variable "source_repository_url" {
  description = "HTTPS clone URL of this repository, which CodeBuild builds the executor image from."
  type        = string
  default     = "https://github.com/example/tfpipe.git"
}

variable "executor_image_tag" {
  description = "Tag of the executor image the job definition runs (the commit CodeBuild built; tags are immutable)."
  type        = string
  default     = "latest"
}

variable "job_vcpu" {
  description = "vCPUs of one Terraform job (Fargate: 0.25, 0.5, 1, 2, 4, ...)."
  type        = number
  default     = 1
}

variable "job_memory_mib" {
  description = "Memory of one Terraform job in MiB (must be a valid Fargate pairing with job_vcpu)."
  type        = number
  default     = 2048
}

variable "job_timeout_seconds" {
  description = "Batch kills a job that runs longer than this."
  type        = number
  default     = 3600
}

variable "max_vcpus" {
  description = "Most vCPUs the compute environments run at once (with job_vcpu: how many jobs run in parallel)."
  type        = number
  default     = 16
}

variable "use_fargate_spot" {
  description = "Put plan-tier jobs (speculative plans, custom commands) on Fargate Spot first (about 70% cheaper; a reclaimed job reports Interrupted and the workflow retries it), on-demand Fargate second. Applies and previews always run on on-demand Fargate."
  type        = bool
  default     = true
}

variable "subnet_ids" {
  description = "Subnets the Terraform jobs run in (private subnets with a NAT gateway, or public ones with assign_public_ip)."
  type        = list(string)
  default     = []
}

variable "vpc_id" {
  description = "VPC of subnet_ids; the jobs get a security group there with egress only."
  type        = string
  default     = ""
}

variable "assign_public_ip" {
  description = "Give jobs a public IP (needed in public subnets without a NAT gateway to reach ECR, GitHub and AWS APIs)."
  type        = bool
  default     = false
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each pipeline Lambda (bounds cost and protects the account's pool). AWS keeps 100 unreserved per account, so new accounts with a low concurrency quota need -1 (no reservation)."
  type        = number
  default     = 20
}

variable "manage_api_gateway_account" {
  description = "Set the region's API Gateway account CloudWatch role (needed once per account and region for access logs). Turn off when something else manages it."
  type        = bool
  default     = true
}

variable "api_throttle_rate" {
  description = "Steady requests per second the API accepts (webhooks, dispatch, approvals)."
  type        = number
  default     = 20
}

variable "api_throttle_burst" {
  description = "Burst of requests the API accepts above the steady rate."
  type        = number
  default     = 40
}

variable "repository_secrets_prefix" {
  description = "Secrets Manager name prefix of the secrets repositories' Terraform may receive (repository_secrets); each repository's live under <prefix><owner>/<name>/, and the job roles may read nothing else. Empty: <app>/<stage>/repos/."
  type        = string
  default     = ""
}

variable "repository_secrets" {
  description = "Which secrets each repository's Terraform receives, per environment: {\"owner/name\" = {\"*\" = {db_password = \"db\"}, \"prod\" = {...}}}, Terraform variable -> secret name relative to <prefix><owner>/<name>/ (TFPIPE_REPOSITORY_SECRETS; never read from a repository's tfpipe.yml). Environment keys: a name, a pattern such as pr-*, or * for all."
  type        = map(map(map(string)))
  default     = {}

  validation {
    condition = alltrue(flatten([
      for repository, environments in var.repository_secrets : [
        for environment, variables in environments : [
          for variable, name in variables :
          can(regex("^[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*$", name)) && !contains(split("/", name), "..") && !contains(split("/", name), ".")
        ]
      ]
    ]))
    error_message = "Each repository_secrets name is relative to <prefix><owner>/<name>/: parts of letters, digits and _+=.@- joined by '/', without a leading '/', '..' or empty parts."
  }
}
