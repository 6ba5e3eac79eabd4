provider "aws" {
  region              = var.region
  allowed_account_ids = var.account_id == "" ? null : [var.account_id]

  default_tags {
    tags = merge({ "tfpipe:app" = var.app_name, "tfpipe:stage" = var.stage }, var.tags)
  }
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
