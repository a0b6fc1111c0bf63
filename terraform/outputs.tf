output "deployments" {
  description = "Deployment key → its function, the live alias and the version it runs."
  value = { for key, f in aws_lambda_function.this : key => {
    function_name     = f.function_name
    arn               = f.arn
    alias_arn         = aws_lambda_alias.live[key].arn
    version           = var.deployments[key].version
    published_version = f.version
  } }
}

output "preview_prs" {
  description = "PR numbers with a preview, in numeric order."
  value = [
    for padded in sort([
      for key in keys(var.deployments) : format("%020d", tonumber(trimprefix(key, "pr-")))
      if startswith(key, "pr-")
    ]) : tostring(tonumber(padded))
  ]
}

output "versions" {
  description = "Deployment key → the version it runs."
  value       = { for key, d in var.deployments : key => d.version }
}

output "source_code_hashes" {
  description = "Deployment key → base64 SHA-256 of its package."
  value       = { for key, d in var.deployments : key => d.package.source_code_hash }
}
