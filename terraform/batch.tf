# Terraform jobs run on Fargate. Plans (the plan tier) may run on Spot first when enabled (a reclaimed
# job gets SIGTERM, the executor reports Interrupted and the workflow retries the plan); applies and
# previews change environments, so they run on on-demand Fargate only: an apply cut short by a Spot
# reclaim can leave state and infrastructure apart.
locals {
  compute_environments = merge(
    { on_demand = { name = local.names.compute_environment, type = "FARGATE" } },
    var.use_fargate_spot ? { spot = { name = local.names.compute_environment_spot, type = "FARGATE_SPOT" } } : {},
  )
  plan_compute_order = var.use_fargate_spot ? ["spot", "on_demand"] : ["on_demand"]
  # Which queue each tier's jobs are submitted to (the Lambdas get it as TFPIPE_JOB_QUEUE_ARN_<TIER>).
  tier_queue_arns = {
    plan    = aws_batch_job_queue.plans.arn
    preview = aws_batch_job_queue.jobs.arn
    apply   = aws_batch_job_queue.jobs.arn
  }
}

resource "aws_security_group" "jobs" {
  count       = var.vpc_id == "" ? 0 : 1
  name        = "${var.app_name}-${var.stage}-jobs"
  description = "Terraform jobs: no inbound; outbound HTTPS to GitHub, ECR and AWS APIs"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to GitHub, ECR and AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_batch_compute_environment" "this" {
  for_each                 = local.compute_environments
  compute_environment_name = each.value.name
  type                     = "MANAGED"
  state                    = "ENABLED"

  compute_resources {
    type               = each.value.type
    max_vcpus          = var.max_vcpus
    subnets            = var.subnet_ids
    security_group_ids = aws_security_group.jobs[*].id
  }
}

resource "aws_batch_job_queue" "jobs" {
  name     = local.names.job_queue
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this["on_demand"].arn
  }
}

resource "aws_batch_job_queue" "plans" {
  name     = local.names.plan_job_queue
  state    = "ENABLED"
  priority = 1

  dynamic "compute_environment_order" {
    for_each = local.plan_compute_order
    content {
      order               = compute_environment_order.key + 1
      compute_environment = aws_batch_compute_environment.this[compute_environment_order.value].arn
    }
  }
}

# One job definition per trust tier: the same image, each with its own job role.
resource "aws_batch_job_definition" "executor" {
  for_each              = local.tiers
  name                  = local.names["${each.key}_job_definition"]
  type                  = "container"
  platform_capabilities = ["FARGATE"]
  propagate_tags        = true

  # The workflow retries a job (it knows which errors are transient); Batch never reruns one on its own.
  retry_strategy {
    attempts = 1
  }
  timeout {
    attempt_duration_seconds = var.job_timeout_seconds
  }

  # Only names and addresses: the job fetches secrets by name and assumes the deploy role itself.
  # The run (TFPIPE_JOB) comes per job as a container override; the task token and an HTTPS clone's
  # token wait in the tokens table, which the job reads by its run id and job key.
  container_properties = jsonencode({
    image            = "${aws_ecr_repository.executor.repository_url}:${var.executor_image_tag}"
    jobRoleArn       = aws_iam_role.job[each.key].arn
    executionRoleArn = aws_iam_role.job_execution.arn
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.job_vcpu) },
      { type = "MEMORY", value = tostring(var.job_memory_mib) },
    ]
    fargatePlatformConfiguration = { platformVersion = "LATEST" }
    networkConfiguration         = { assignPublicIp = var.assign_public_ip ? "ENABLED" : "DISABLED" }
    ephemeralStorage             = { sizeInGiB = 30 }
    readonlyRootFilesystem       = false
    privileged                   = false
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this["job"].name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "executor"
      }
    }
    environment = [
      { name = "TFPIPE_STAGE", value = var.stage },
      { name = "TFPIPE_APP_NAME", value = var.app_name },
      { name = "TFPIPE_ARTIFACTS_BUCKET", value = local.names.artifacts_bucket },
      { name = "TFPIPE_STATE_BUCKET", value = local.names.state_bucket },
      { name = "TFPIPE_STATUS_QUEUE_URL", value = aws_sqs_queue.status.url },
      { name = "TFPIPE_TOKENS_TABLE", value = local.names.tokens_table },
      { name = "TFPIPE_REPOSITORY_SECRETS_PREFIX", value = local.repository_secrets_prefix },
      { name = "TFPIPE_JOB_TIER", value = each.key },
      { name = "TFPIPE_DEPLOY_ROLE_NAME", value = var.deploy_role_name },
      { name = "TFPIPE_PREVIEW_ROLE_NAME", value = var.preview_role_name },
      { name = "TFPIPE_PLAN_ROLE_NAME", value = var.plan_role_name },
      { name = "TFPIPE_ALLOWED_PROVIDERS", value = join(",", var.allowed_providers) },
      { name = "TFPIPE_ALLOWED_MODULE_SOURCES", value = join(",", var.allowed_module_sources) },
      { name = "TFPIPE_TRACING", value = "on" },
      { name = "AWS_REGION", value = local.region },
    ]
  })
}
