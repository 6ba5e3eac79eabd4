# Trust tiers (chalicelib/core/tiers.py, docs/security.md): each tier's jobs run with their own job
# definition and job role, which may assume only that tier's role in the target accounts, write only
# that tier's artifact prefix, and answer task tokens only of the workflows that tier runs.
#
#   plan     PLAN, CUSTOM       -> tfpipe-plan (read-only) in every target account; Spot queue
#   preview  changes to pr-<N>  -> tfpipe-preview in the preview account; on-demand queue
#   apply    changes to others  -> tfpipe-deploy in the long-lived environments' accounts; on-demand queue
#
# Every ARN here is built from names and account ids, so the policies are known at plan time
# (tests/infra/test_isolation.py evaluates them as Terraform renders them).
locals {
  long_lived_accounts = distinct(values(var.environments))
  # Without an ephemeral account, pr-<N> environments live in the pipeline's own account.
  preview_account = var.ephemeral_account_id == "" ? local.account_id : var.ephemeral_account_id

  tiers = {
    plan = {
      target_role = var.plan_role_name
      accounts    = distinct(concat(local.long_lived_accounts, [local.preview_account]))
      workflows   = ["plan", "custom"]
    }
    preview = {
      target_role = var.preview_role_name
      accounts    = [local.preview_account]
      workflows   = ["plan-apply", "apply-ephemeral", "destroy"]
    }
    apply = {
      target_role = var.deploy_role_name
      accounts    = length(local.long_lived_accounts) > 0 ? local.long_lived_accounts : [local.account_id]
      workflows   = ["plan-apply", "apply-ephemeral", "destroy"]
    }
  }
  target_role_arns = {
    for tier, t in local.tiers : tier => [for account in t.accounts : "arn:${local.partition}:iam::${account}:role/${t.target_role}"]
  }
  all_target_role_arns = distinct(flatten(values(local.target_role_arns)))

  state_bucket_arn     = "arn:${local.partition}:s3:::${local.names.state_bucket}"
  artifacts_bucket_arn = "arn:${local.partition}:s3:::${local.names.artifacts_bucket}"

  # State keys as executor/executor/backend.py builds them: <owner>/<repo>/env/<environment>/... for
  # long-lived environments, <owner>/<repo>/ephemeral/pr-<N>/... for ephemeral ones, whose backend
  # configuration also reads the never-written bare default-workspace key when it initialises. A named
  # project's keys put one more segment after the repository (<owner>/<repo>/<project>/env/...); IAM's
  # `*` spans `/`, so these patterns cover them too (tests/infra/test_isolation.py checks both forms).
  environment_state = { for env, account in var.environments : env => "${local.state_bucket_arn}/*/*/env/${env}/*" }
  ephemeral_state   = "${local.state_bucket_arn}/*/*/ephemeral/pr-*"
  ephemeral_init    = "${local.state_bucket_arn}/terraform.tfstate"

  # Who may touch which state keys, by role (the target account's side is modules/deploy-role).
  state_grants = concat(
    [for account in local.long_lived_accounts : {
      sid    = "Deploy${account}"
      role   = "arn:${local.partition}:iam::${account}:role/${var.deploy_role_name}"
      reads  = [for env, a in var.environments : local.environment_state[env] if a == account]
      writes = [for env, a in var.environments : local.environment_state[env] if a == account]
    }],
    [for account in local.tiers.plan.accounts : {
      sid  = "Plan${account}"
      role = "arn:${local.partition}:iam::${account}:role/${var.plan_role_name}"
      reads = concat([for env, a in var.environments : local.environment_state[env] if a == account],
      account == local.preview_account ? [local.ephemeral_state, local.ephemeral_init] : [])
      writes = []
    }],
    [{
      sid    = "Preview${local.preview_account}"
      role   = "arn:${local.partition}:iam::${local.preview_account}:role/${var.preview_role_name}"
      reads  = [local.ephemeral_state, local.ephemeral_init]
      writes = [local.ephemeral_state]
    }],
  )
  target_role_patterns = { for tier, t in local.tiers : tier => "arn:${local.partition}:iam::*:role/${t.target_role}" }
  object_actions       = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]

  # The two buckets' policies beside TLS-only (modules/bucket), as data: `allow` statements name roles
  # (granted through their account's root, matched on aws:PrincipalArn, so the roles need not exist
  # yet); `deny` statements match role ARNs or patterns and hold whatever the role's own account grants
  # it (a role in the pipeline's own account needs no allow here, so only a deny binds it).
  bucket_access = {
    # Each role reads (and writes) only its environments' state keys. No plan role writes state or
    # takes a lock; no preview role touches a key outside the ephemeral ones; no role writes the
    # default-workspace key; with environments declared, no role touches keys outside its own.
    state = {
      allow = concat(
        [{ sid = "ListForTargetRoles", actions = ["s3:ListBucket"], resources = [local.state_bucket_arn], roles = local.all_target_role_arns }],
        [for g in local.state_grants : { sid = "${g.sid}Read", actions = ["s3:GetObject"], resources = g.reads, roles = [g.role] } if length(g.reads) > 0],
        [for g in local.state_grants : { sid = "${g.sid}Write", actions = ["s3:PutObject", "s3:DeleteObject"], resources = g.writes, roles = [g.role] } if length(g.writes) > 0],
      )
      deny = concat(
        [
          { sid = "PlanRolesNeverWrite", actions = ["s3:PutObject", "s3:DeleteObject"], resources = ["${local.state_bucket_arn}/*"], not_resources = null, test = "ArnLike", roles = [local.target_role_patterns.plan] },
          { sid = "PreviewRolesOnlyEphemeral", actions = local.object_actions, resources = null, not_resources = [local.ephemeral_state, local.ephemeral_init], test = "ArnLike", roles = [local.target_role_patterns.preview] },
          { sid = "NoTargetRoleWritesTheDefaultWorkspaceKey", actions = ["s3:PutObject", "s3:DeleteObject"], resources = [local.ephemeral_init], not_resources = null, test = "ArnLike", roles = values(local.target_role_patterns) },
        ],
        [for g in local.state_grants : { sid = "${g.sid}OnlyOwnState", actions = local.object_actions, resources = null, not_resources = g.reads, test = "ArnEquals", roles = [g.role] } if length(var.environments) > 0],
      )
    }
    # Build outputs (a function package the environment's Terraform uploads) are read by the target
    # roles of the tier that built them, from that tier's prefix only.
    artifacts = {
      allow = [for tier, arns in local.target_role_arns : {
        sid = "${title(tier)}TierReadsBuildOutputs", actions = ["s3:GetObject"], resources = ["${local.artifacts_bucket_arn}/runs/${tier}/*"], roles = arns
      }]
      deny = []
    }
  }
}

data "aws_iam_policy_document" "bucket_access" {
  for_each = local.bucket_access

  dynamic "statement" {
    for_each = each.value.allow
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
      principals {
        type        = "AWS"
        identifiers = distinct([for arn in statement.value.roles : "arn:${local.partition}:iam::${split(":", arn)[4]}:root"])
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = statement.value.roles
      }
    }
  }

  dynamic "statement" {
    for_each = each.value.deny
    content {
      sid           = statement.value.sid
      effect        = "Deny"
      actions       = statement.value.actions
      resources     = statement.value.resources
      not_resources = statement.value.not_resources
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = statement.value.test
        variable = "aws:PrincipalArn"
        values   = statement.value.roles
      }
    }
  }
}

output "target_accounts" {
  description = "Account => what modules/deploy-role needs there: its long-lived environments (they get the deploy role) and whether it is the preview account. Every account gets the read-only plan role."
  value = {
    for account in local.tiers.plan.accounts : account => {
      environments = [for env, a in var.environments : env if a == account]
      preview      = account == local.preview_account
    }
  }
}
