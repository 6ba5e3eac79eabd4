# A private bucket as the pipeline keeps them: owner-enforced, public access blocked, versioned,
# encrypted with the pipeline's key, TLS only, with old versions and failed uploads cleaned up.
terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
}

variable "expire_prefix" {
  description = "Objects under this prefix expire after expire_days (null: nothing expires)."
  type        = string
  default     = null
}

variable "expire_days" {
  type    = number
  default = 90
}

variable "cross_account_readers" {
  description = "Role ARNs in other accounts that may read objects under read_prefix (matched by aws:PrincipalArn, so the roles need not exist yet)."
  type        = list(string)
  default     = []
}

variable "read_prefix" {
  type    = string
  default = ""
}

variable "cross_account_writers" {
  description = "Role ARNs in other accounts that may list the bucket and read, write and delete its objects (Terraform state and its lock files)."
  type        = list(string)
  default     = []
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Server access logs would need a third bucket per stage; CloudTrail data events are the audit trail for these two.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice left to the operator; versioning keeps every state and plan.
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: runs learn about artifacts from the job's callback.
  bucket = var.name
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "clean-up-versions-and-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  dynamic "rule" {
    for_each = var.expire_prefix == null ? [] : [var.expire_prefix]
    content {
      id     = "expire-${trimsuffix(rule.value, "/")}"
      status = "Enabled"
      filter {
        prefix = rule.value
      }
      expiration {
        days = var.expire_days
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  dynamic "statement" {
    for_each = length(var.cross_account_readers) > 0 ? [1] : []
    content {
      sid       = "CrossAccountRead"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.this.arn}/${var.read_prefix}*"]
      principals {
        type        = "AWS"
        identifiers = distinct([for arn in var.cross_account_readers : "arn:${split(":", arn)[1]}:iam::${split(":", arn)[4]}:root"])
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.cross_account_readers
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.cross_account_writers) > 0 ? ["s3:ListBucket", "objects"] : []
    content {
      sid       = statement.value == "objects" ? "CrossAccountObjects" : "CrossAccountList"
      actions   = statement.value == "objects" ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : [statement.value]
      resources = statement.value == "objects" ? ["${aws_s3_bucket.this.arn}/*"] : [aws_s3_bucket.this.arn]
      principals {
        type        = "AWS"
        identifiers = distinct([for arn in var.cross_account_writers : "arn:${split(":", arn)[1]}:iam::${split(":", arn)[4]}:root"])
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.cross_account_writers
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

output "arn" {
  value = aws_s3_bucket.this.arn
}

output "bucket" {
  value = aws_s3_bucket.this.bucket
}
