output "staging" {
  description = "The staging function, or null when staging is not declared."
  value = try({
    function_name = aws_lambda_function.environment["staging"].function_name
    arn           = aws_lambda_function.environment["staging"].arn
    version       = var.staging_version
  }, null)
}

output "production" {
  description = "The production function, or null when production is not declared."
  value = try({
    function_name = aws_lambda_function.environment["production"].function_name
    arn           = aws_lambda_function.environment["production"].arn
    version       = var.production_version
  }, null)
}

output "previews" {
  description = "PR number → the preview function."
  value = { for pr, f in aws_lambda_function.preview : pr => {
    function_name = f.function_name
    arn           = f.arn
    version       = var.preview_versions[pr]
  } }
}
