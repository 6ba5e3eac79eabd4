# Run artifacts (plans, plan JSON/text, logs, build outputs under runs/<run-id>/), and the Terraform
# state of the environments the pipeline deploys (S3 native locking: <key>.tflock objects).
module "artifacts_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.artifacts_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 7
  expire_prefix           = "runs/"
  expire_days             = var.artifact_retention_days
  # Deploy roles in the environments' accounts read build outputs (e.g. a function package) in apply.
  cross_account_readers = local.cross_account_deploy_roles
  read_prefix           = "runs/"
}

# Current state is kept forever; old versions long enough to recover from a bad apply. Terraform runs
# with the deploy role's credentials (executor/credentials.py), so deploy roles in other accounts read
# and write state and its lock files here.
module "state_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.state_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 90
  cross_account_writers   = local.cross_account_deploy_roles
}
