# One constraint set for the whole root, including the Lambdas and API that `chalice package` generates:
# terraform/package_app.py drops the `terraform` block Chalice writes (aws < 5, terraform < 1.4, null)
# so these constraints are the only ones. 1.10 or newer for S3 native state locking.
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }
}
