# Run artifacts (plans, plan JSON/text, logs, build outputs under runs/<run-id>/), and the Terraform
# state of the environments the pipeline deploys (S3 native locking: <key>.tflock objects).
module "artifacts_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.artifacts_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 7
  expire_prefix           = "runs/"
  expire_days             = var.artifact_retention_days
}

# Current state is kept forever; old versions long enough to recover from a bad apply.
module "state_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.state_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 90
}
