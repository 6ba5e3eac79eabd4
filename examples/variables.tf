variable "region" {
  type    = string
  default = "us-east-1"
}

variable "environment" {
  description = "Environment name (environments/<name>.tfvars); ephemeral pr-<N> environments are workspaces."
  type        = string
  default     = "dev"
}

variable "app_name" {
  type    = string
  default = "guestbook"
}

variable "artifacts_bucket" {
  description = "Bucket holding the built package (the pipeline's artifacts bucket)."
  type        = string
}

variable "app_package_key" {
  description = "S3 key of the package tfpipe.yml's `app` build produced for this commit."
  type        = string
}

variable "memory_mib" {
  type    = number
  default = 256
}

variable "log_retention_days" {
  type    = number
  default = 14
}

variable "reserved_concurrency" {
  description = "Most concurrent requests the app serves (bounds cost of a public URL)."
  type        = number
  default     = 10
}
