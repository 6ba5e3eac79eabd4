output "function_url" {
  description = "The app's public URL."
  value       = aws_lambda_function_url.app.function_url
}

# The pipeline polls this after every apply; an answer other than 2xx rolls the environment back.
output "health_check_url" {
  value = "${trimsuffix(aws_lambda_function_url.app.function_url, "/")}/health"
}

output "table_name" {
  value = aws_dynamodb_table.guestbook.name
}
