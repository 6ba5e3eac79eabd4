terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }

  # The pipeline's executor fills this in at init (bucket, key per environment, use_lockfile).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      app         = var.app_name
      environment = var.environment
      workspace   = terraform.workspace
    }
  }
}
