# One customer-managed key for the pipeline's data at rest: buckets, tables, secrets, logs, the image
# repository and build artifacts. Rotated yearly; the services that write logs with it are named.
resource "aws_kms_key" "pipeline" {
  description             = "${var.app_name}-${var.stage} pipeline data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "pipeline" {
  name          = "alias/${var.app_name}-${var.stage}"
  target_key_id = aws_kms_key.pipeline.key_id
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key; the account root keeps administration so IAM policies can grant use.
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # The target roles of every tier (tiers.tf) decrypt build outputs they read from the artifacts bucket
  # and read (and, but for plan roles, write) Terraform state in the state bucket, through S3 only.
  statement {
    sid       = "TargetRolesUseBuckets"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = distinct([for arn in local.all_target_role_arns : "arn:${local.partition}:iam::${split(":", arn)[4]}:root"])
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = local.all_target_role_arns
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}
