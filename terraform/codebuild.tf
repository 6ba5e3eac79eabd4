# Builds executor/ (its Dockerfile and buildspec.yml) into the ECR repository, tagged with the commit
# sha; set executor_image_tag to that sha to run it. A private GitHub repository needs a CodeBuild
# source credential (aws codebuild import-source-credentials) once per account and region.
resource "aws_codebuild_project" "executor" {
  # checkov:skip=CKV_AWS_316:Building a container image with docker needs privileged mode; the build runs only this repository's buildspec.
  name           = local.names.executor_build
  description    = "Builds the ${var.app_name} executor image into ECR"
  service_role   = aws_iam_role.codebuild.arn
  encryption_key = aws_kms_key.pipeline.arn
  build_timeout  = 30

  source {
    type            = "GITHUB"
    location        = var.source_repository_url
    buildspec       = "executor/buildspec.yml"
    git_clone_depth = 1
  }

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    compute_type    = "BUILD_GENERAL1_SMALL"
    image           = "aws/codebuild/standard:7.0"
    type            = "LINUX_CONTAINER"
    privileged_mode = true

    # executor/buildspec.yml pushes <account>.dkr.ecr.<region>.amazonaws.com/$IMAGE_REPO_NAME:<commit sha>.
    environment_variable {
      name  = "IMAGE_REPO_NAME"
      value = aws_ecr_repository.executor.name
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.this["build"].name
    }
  }
}
