# Initialised once while the image is built, so hashicorp/aws is already in the plugin cache when a
# job runs `terraform init` (a job then downloads only providers the image does not carry).
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
