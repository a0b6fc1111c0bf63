output "staging" {
  description = "The staging function, or null when staging is not declared."
  value = one([for f in aws_lambda_function.staging : {
    function_name = f.function_name
    arn           = f.arn
    version       = var.staging_version
  }])
}

output "production" {
  description = "The production function, or null when production is not declared."
  value = one([for f in aws_lambda_function.production : {
    function_name = f.function_name
    arn           = f.arn
    version       = var.production_version
  }])
}

output "previews" {
  description = "PR number → the preview function."
  value = { for pr, f in aws_lambda_function.preview : pr => {
    function_name = f.function_name
    arn           = f.arn
    version       = var.preview_versions[pr]
  } }
}
