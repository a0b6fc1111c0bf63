locals {
  # The declared environments (a version is set) by name.
  environments = { for name, env in {
    staging = {
      version          = var.staging_version
      commit_sha       = var.staging_commit_sha
      source_code_hash = var.staging_source_code_hash
      function_name    = var.staging_function_name
      trigger_prefix   = var.staging_trigger_prefix
      variables        = var.staging_environment
      package          = var.staging_package
    }
    production = {
      version          = var.production_version
      commit_sha       = var.production_commit_sha
      source_code_hash = var.production_source_code_hash
      function_name    = var.production_function_name
      trigger_prefix   = var.production_trigger_prefix
      variables        = var.production_environment
      package          = var.production_package
    }
  } : name => env if env.version != "" }

  role_arn   = var.role_arn != "" ? var.role_arn : aws_iam_role.execution[0].arn
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.trigger_bucket}"
  events     = ["s3:ObjectCreated:*"]
}

# Packages: content-addressed, one object per distinct package. The artifact tested in
# staging is byte for byte the one promoted to production, and moving one environment off a
# package another still runs leaves the object in place.
resource "aws_s3_object" "package" {
  for_each = var.packages

  bucket = var.package_bucket
  key    = "${var.package_key_prefix}${each.key}.zip"
  source = each.value
  tags   = { service = var.service_name }
}

resource "aws_iam_role" "execution" {
  count = var.role_arn == "" ? 1 : 0

  name = substr("${var.service_name}-lambda-execution", 0, 64)
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = { service = var.service_name }
}

# The basic logging policy, inline: what AWSLambdaBasicExecutionRole grants.
resource "aws_iam_role_policy" "logging" {
  count = var.role_arn == "" ? 1 : 0

  name = "logging"
  role = aws_iam_role.execution[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "*"
    }]
  })
}

# Staging and production: one function per declared environment.
resource "aws_lambda_function" "environment" {
  for_each = local.environments

  function_name    = each.value.function_name
  role             = local.role_arn
  runtime          = var.runtime
  handler          = var.handler
  memory_size      = var.memory_size
  timeout          = var.timeout
  s3_bucket        = var.package_bucket
  s3_key           = aws_s3_object.package[each.value.package].key
  source_code_hash = each.value.source_code_hash

  dynamic "environment" {
    for_each = length(each.value.variables) > 0 ? [each.value.variables] : []
    content {
      variables = environment.value
    }
  }

  tags = {
    service     = var.service_name
    environment = each.key
    version     = each.value.version
    commit_sha  = each.value.commit_sha
  }
}

resource "aws_lambda_function" "preview" {
  for_each = var.preview_prs

  function_name = var.preview_function_names[each.key]
  role          = local.role_arn
  runtime       = var.runtime
  handler       = var.handler
  memory_size   = var.memory_size
  timeout       = var.timeout
  s3_bucket     = var.package_bucket
  # A preview either names an object already in the bucket or uses a staged package.
  s3_key = (
    contains(keys(var.preview_s3_keys), each.key)
    ? var.preview_s3_keys[each.key]
    : aws_s3_object.package[var.preview_packages[each.key]].key
  )
  source_code_hash = var.preview_source_code_hashes[each.key]

  dynamic "environment" {
    for_each = length(var.preview_environment) > 0 ? [var.preview_environment] : []
    content {
      variables = environment.value
    }
  }

  tags = {
    service     = var.service_name
    environment = "pr-${each.key}"
    version     = var.preview_versions[each.key]
    commit_sha  = var.preview_commit_shas[each.key]
  }
}

locals {
  # Every function by environment: staging, production, pr-<N>.
  functions = merge(
    aws_lambda_function.environment,
    { for pr, f in aws_lambda_function.preview : "pr-${pr}" => f },
  )
  trigger_prefixes = merge(
    { for name, env in local.environments : name => env.trigger_prefix },
    { for pr, prefix in var.preview_trigger_prefixes : "pr-${pr}" => prefix },
  )
}

# S3 may invoke each function, from the trigger bucket only.
resource "aws_lambda_permission" "s3" {
  for_each = local.functions

  statement_id  = "AllowS3Invoke"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "s3.amazonaws.com"
  source_arn    = local.bucket_arn
}

# One notification configuration per bucket (S3 keeps exactly one): every environment's
# prefix in a single resource, so no apply wipes another environment's trigger.
resource "aws_s3_bucket_notification" "triggers" {
  bucket = var.trigger_bucket

  dynamic "lambda_function" {
    for_each = local.functions
    content {
      id                  = lambda_function.key
      lambda_function_arn = lambda_function.value.arn
      events              = local.events
      filter_prefix       = local.trigger_prefixes[lambda_function.key]
    }
  }

  depends_on = [aws_lambda_permission.s3]
}
