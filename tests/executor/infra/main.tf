# The small infrastructure repository the executor's tests plan, apply and destroy against moto.
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {}

variable "message" {
  type    = string
  default = "hello"
}

variable "sleep_seconds" {
  description = "When > 0, apply runs a local-exec sleep (the interrupt tests)."
  type        = number
  default     = 0
}

variable "fail_apply" {
  description = "When true, apply runs a command that fails (plan still succeeds)."
  type        = bool
  default     = false
}

variable "api_key" {
  description = "Comes from Secrets Manager through tfpipe.yml; the tests leak it on purpose below."
  type        = string
  default     = "unset"
  sensitive   = true
}

variable "parameter_count" {
  description = "Extra parameters, so a plan has state to refresh (the benchmark's larger case)."
  type        = number
  default     = 0
}

variable "health_check_url" {
  type    = string
  default = ""
}

variable "app_package_key" {
  type    = string
  default = ""
}

variable "artifacts_bucket" {
  type    = string
  default = ""
}

resource "aws_ssm_parameter" "message" {
  name  = "/tfpipe-test/${terraform.workspace}/message"
  type  = "String"
  value = var.message
}

resource "aws_ssm_parameter" "many" {
  count = var.parameter_count
  name  = "/tfpipe-test/${terraform.workspace}/many/${count.index}"
  type  = "String"
  value = "value ${count.index}"
}

variable "queue_name" {
  description = "When set, a queue of exactly this name (not the workspace's): the preview collision tests."
  type        = string
  default     = ""
}

resource "aws_sqs_queue" "jobs" {
  count = var.queue_name != "" ? 1 : 0
  name  = var.queue_name
}

resource "terraform_data" "slow" {
  count            = var.sleep_seconds > 0 ? 1 : 0
  triggers_replace = [var.message]
  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}

resource "terraform_data" "fails" {
  count            = var.fail_apply ? 1 : 0
  triggers_replace = [var.message]
  provisioner "local-exec" {
    command = "echo failing on purpose; exit 3"
  }
}

output "message_parameter" {
  value = aws_ssm_parameter.message.name
}

# A careless configuration that prints a secret: the executor must still mask it everywhere.
output "api_key_echo" {
  value = nonsensitive(var.api_key)
}

output "api_key_sensitive" {
  value     = "sensitive-${var.api_key}"
  sensitive = true
}

output "health_check_url" {
  value = var.health_check_url
}

output "app_package_key" {
  value = var.app_package_key
}
