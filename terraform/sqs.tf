# Status events: every phase of every run goes on this queue; one consumer fans out to Slack and GitHub.
# A message whose sink keeps failing is retried by SQS and parked in the DLQ, never dropped.
resource "aws_sqs_queue" "status_dlq" {
  name                      = local.names.status_dlq
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "status" {
  name = local.names.status_queue
  # Six times the consumer's timeout, as AWS recommends for Lambda event sources.
  visibility_timeout_seconds = 360
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.status_dlq.arn
    maxReceiveCount     = local.status_max_receives
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "status_dlq" {
  queue_url = aws_sqs_queue.status_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.status.arn]
  })
}

# Asynchronous invocations (schedules, EventBridge rules) that fail every retry land here.
resource "aws_sqs_queue" "lambda_dlq" {
  name                      = local.names.lambda_dlq
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}
