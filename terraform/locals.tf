locals {
  # How often a status event is tried before it is parked in the DLQ (the fan-out reads it too).
  status_max_receives = 5

  # names.json is shared with the embedded stack, so both create the same resources from the same names.
  names_doc = jsondecode(file("${path.module}/names.json"))

  names = {
    for key, r in local.names_doc.resources :
    key => lookup(var.name_overrides, key, replace(replace(r.name, "{app}", var.app_name), "{stage}", var.stage))
  }
  state_machine_names = {
    for workflow, sm in local.names_doc.state_machines :
    workflow => replace(replace(sm.name, "{app}", var.app_name), "{stage}", var.stage)
  }

  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # ARNs built from names rather than taken from resources: the Lambdas' environment names the state
  # machines and the state machines name the Lambdas, which would otherwise be a dependency cycle.
  state_machine_arns = {
    for workflow, name in local.state_machine_names :
    workflow => "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${name}"
  }
  function_prefix     = "${var.app_name}-${var.stage}-"
  function_arn_prefix = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.function_prefix}"

  # Settings the Lambdas read (chalicelib/settings.py) that .chalice/config.json cannot know; merged
  # into every Chalice function's environment by package_app.py. The names from names.json are repeated
  # here so a name_overrides entry reaches the code.
  lambda_environment = merge(
    {
      for key, r in local.names_doc.resources :
      r.env => local.names[key] if can(r.env) && !contains(["status_queue", "status_dlq", "scheduler_role"], key)
    },
    { for workflow, sm in local.names_doc.state_machines : sm.env => local.state_machine_arns[workflow] },
    {
      TFPIPE_STAGE                = var.stage
      TFPIPE_APP_NAME             = var.app_name
      TFPIPE_STATUS_QUEUE_URL     = aws_sqs_queue.status.url
      TFPIPE_STATUS_DLQ_URL       = aws_sqs_queue.status_dlq.url
      TFPIPE_STATUS_MAX_RECEIVES  = tostring(local.status_max_receives)
      TFPIPE_SCHEDULER_ROLE_ARN   = aws_iam_role.scheduler.arn
      TFPIPE_ALLOWED_REPOSITORIES = join(",", var.allowed_repositories)
      TFPIPE_ENVIRONMENTS = jsonencode({ for name, account in var.environments : name => {
        account_id = account, approvers = lookup(var.environment_approvers, name, [])
      } })
      TFPIPE_EPHEMERAL_ACCOUNT_ID = var.ephemeral_account_id
      TFPIPE_DEPLOY_ROLE_NAME     = var.deploy_role_name
      TFPIPE_GITHUB_API_URL       = var.github_api_url
      TFPIPE_UNTRUSTED_PRS        = var.untrusted_pull_requests
      TFPIPE_ALLOW_SELF_APPROVAL  = tostring(var.allow_self_approval)
      TFPIPE_TRACING              = "on"
    },
    # Which secrets each repository's Terraform receives (never read from its tfpipe.yml).
    {
      TFPIPE_REPOSITORY_SECRETS        = jsonencode(var.repository_secrets)
      TFPIPE_REPOSITORY_SECRETS_PREFIX = local.repository_secrets_prefix
    },
    # Each trust tier's job definition and queue (tiers.tf); the pipeline picks the tier per run.
    {
      TFPIPE_JOB_DEFINITION_ARN_PLAN    = aws_batch_job_definition.executor["plan"].arn
      TFPIPE_JOB_DEFINITION_ARN_PREVIEW = aws_batch_job_definition.executor["preview"].arn
      TFPIPE_JOB_DEFINITION_ARN_APPLY   = aws_batch_job_definition.executor["apply"].arn
      TFPIPE_JOB_QUEUE_ARN_PLAN         = local.tier_queue_arns["plan"]
      TFPIPE_JOB_QUEUE_ARN_PREVIEW      = local.tier_queue_arns["preview"]
      TFPIPE_JOB_QUEUE_ARN_APPLY        = local.tier_queue_arns["apply"]
    },
  )

  secret_names = {
    webhook      = local.names.webhook_secret
    github_token = local.names.github_token_secret
    slack        = local.names.slack_webhook_secret
  }
}
