# Run artifacts (plans, plan JSON/text, logs, build outputs under runs/<tier>/<run-id>/), and the
# Terraform state of the environments the pipeline deploys (S3 native locking: <key>.tflock objects).
# Who may read and write what, by trust tier and environment, is in tiers.tf.
module "artifacts_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.artifacts_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 7
  expire_prefix           = "runs/"
  expire_days             = var.artifact_retention_days
  # Target roles read their own tier's build outputs (e.g. a function package) during apply.
  access_policy_json = data.aws_iam_policy_document.bucket_access["artifacts"].json
}

# Current state is kept forever; old versions long enough to recover from a bad apply. Terraform runs
# with the target role's credentials (executor/credentials.py), so target roles in other accounts read
# and write state and its lock files here, each only its own environments' keys.
module "state_bucket" {
  source                  = "./modules/bucket"
  name                    = local.names.state_bucket
  kms_key_arn             = aws_kms_key.pipeline.arn
  noncurrent_version_days = 90
  access_policy_json      = data.aws_iam_policy_document.bucket_access["state"].json
}
