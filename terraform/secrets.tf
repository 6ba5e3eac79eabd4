# Created empty: values are set out of band (README, Deploy) and never pass through Terraform state.
resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:These are a GitHub webhook secret, a GitHub token and a Slack URL, rotated at GitHub/Slack; a rotation Lambda cannot mint them.
  for_each                = local.secret_names
  name                    = each.value
  description             = "${var.app_name} ${var.stage}: ${each.key} (value set out of band)"
  kms_key_id              = aws_kms_key.pipeline.arn
  recovery_window_in_days = 7
}
