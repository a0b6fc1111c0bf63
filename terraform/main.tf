locals {
  role_arn   = var.role_arn != "" ? var.role_arn : aws_iam_role.execution[0].arn
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.trigger_bucket}"
  events     = ["s3:ObjectCreated:*"]

  # On every resource that takes tags; per-deployment resources add the deployment key.
  tags = {
    service               = var.service_name
    lambda_gitops_version = var.tool_version
  }

  # IAM role names are global to the account and at most 64 characters: a name that would
  # not fit keeps a prefix of the service and a hash of the whole name, so two long names
  # never collide. Names that fit are unchanged (an existing role is never replaced).
  role_name_full = "${var.service_name}-lambda-execution"
  role_name = (
    length(local.role_name_full) <= 64
    ? local.role_name_full
    : "${substr(var.service_name, 0, 38)}-${substr(sha256(var.service_name), 0, 8)}-lambda-execution"
  )

  tracing     = anytrue([for d in values(var.deployments) : d.tracing == "Active"])
  in_vpc      = anytrue([for d in values(var.deployments) : d.vpc != null])
  provisioned = { for key, d in var.deployments : key => d if d.provisioned_concurrency > 0 }
}

# Packages: content-addressed, one object per distinct package. The artifact tested in
# staging is byte for byte the one promoted to production, and moving one environment off a
# package another still runs leaves the object in place.
resource "aws_s3_object" "package" {
  for_each = var.packages

  bucket = var.package_bucket
  key    = "${var.package_key_prefix}${each.key}.zip"
  source = each.value
  tags   = local.tags
}

# One log group per function, created before it (Lambda would otherwise create it on the
# first invocation, without retention and outside this state) and destroyed with it.
resource "aws_cloudwatch_log_group" "this" {
  for_each = var.deployments

  name              = "/aws/lambda/${each.value.function_name}"
  retention_in_days = each.value.log_retention_days
  tags              = merge(each.value.tags, local.tags, { environment = each.key })
}

resource "aws_iam_role" "execution" {
  count = var.role_arn == "" ? 1 : 0

  name = local.role_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Logging to the service's own log groups, and nothing else. The ARNs are spelt out from
# the names (known when planning), so a review sees exactly which groups change.
resource "aws_iam_role_policy" "logging" {
  count = var.role_arn == "" && length(var.deployments) > 0 ? 1 : 0

  name = "logging"
  role = aws_iam_role.execution[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = [
        for group in aws_cloudwatch_log_group.this :
        "arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:log-group:${group.name}:*"
      ]
    }]
  })
}

# X-Ray segments, when a function traces (X-Ray has no resource-level permissions).
resource "aws_iam_role_policy" "tracing" {
  count = var.role_arn == "" && local.tracing ? 1 : 0

  name = "tracing"
  role = aws_iam_role.execution[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      Resource = "*"
    }]
  })
}

# The network interfaces a function in a VPC needs: AWSLambdaVPCAccessExecutionRole without
# its logging statement, which would grant every log group.
resource "aws_iam_role_policy" "network" {
  count = var.role_arn == "" && local.in_vpc ? 1 : 0

  name = "network-interfaces"
  role = aws_iam_role.execution[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      Resource = "*"
    }]
  })
}

# One function per deployment. Every change publishes a version; the `live` alias below
# points at it, and the trigger invokes the alias.
resource "aws_lambda_function" "this" {
  for_each = var.deployments

  function_name = each.value.function_name
  description   = each.value.description
  role          = local.role_arn
  runtime       = each.value.runtime
  handler       = each.value.handler
  architectures = [each.value.architecture]
  layers        = each.value.layers
  memory_size   = each.value.memory_size
  timeout       = each.value.timeout
  publish       = true

  reserved_concurrent_executions = each.value.reserved_concurrency == null ? -1 : each.value.reserved_concurrency

  s3_bucket = var.package_bucket
  # A staged package is the object this module uploads; a preview may name one already there.
  s3_key = (
    each.value.package.upload != null
    ? aws_s3_object.package[each.value.package.upload].key
    : each.value.package.s3_key
  )
  source_code_hash = each.value.package.source_code_hash

  ephemeral_storage {
    size = each.value.ephemeral_storage
  }

  tracing_config {
    mode = each.value.tracing
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc == null ? [] : [each.value.vpc]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "environment" {
    for_each = length(each.value.environment) > 0 ? [each.value.environment] : []
    content {
      variables = environment.value
    }
  }

  tags = merge(each.value.tags, local.tags, {
    environment = each.key
    version     = each.value.version
    commit_sha  = each.value.commit_sha
  })

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logging,
    aws_iam_role_policy.network,
  ]
}

resource "aws_lambda_alias" "live" {
  for_each = var.deployments

  name             = "live"
  description      = "The version lambda-gitops deployed"
  function_name    = aws_lambda_function.this[each.key].function_name
  function_version = coalesce(each.value.live_version, aws_lambda_function.this[each.key].version)

  # The traffic a rollout shifts to the new version is lambda-gitops's (`rollout`), never
  # terraform's: a plan during or after a rollout shows no drift.
  lifecycle {
    ignore_changes = [routing_config]
  }
}

# On the alias, so it follows the deployed version; only where asked for.
resource "aws_lambda_provisioned_concurrency_config" "live" {
  for_each = local.provisioned

  function_name                     = aws_lambda_alias.live[each.key].function_name
  qualifier                         = aws_lambda_alias.live[each.key].name
  provisioned_concurrent_executions = each.value.provisioned_concurrency
}

# S3 may invoke each alias, from the trigger bucket in this account only. Replaced
# create-before-destroy: S3 can invoke at every moment, upgrades included.
resource "aws_lambda_permission" "s3" {
  for_each = var.deployments

  statement_id   = "AllowS3InvokeLive"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this[each.key].function_name
  qualifier      = aws_lambda_alias.live[each.key].name
  principal      = "s3.amazonaws.com"
  source_arn     = local.bucket_arn
  source_account = data.aws_caller_identity.current.account_id

  lifecycle {
    create_before_destroy = true
  }
}

# One notification configuration per bucket (S3 keeps exactly one): every deployment's
# prefix in a single resource, so no apply wipes another deployment's trigger.
resource "aws_s3_bucket_notification" "triggers" {
  bucket = var.trigger_bucket

  dynamic "lambda_function" {
    for_each = var.deployments
    content {
      id                  = lambda_function.key
      lambda_function_arn = aws_lambda_alias.live[lambda_function.key].arn
      events              = local.events
      filter_prefix       = lambda_function.value.trigger_prefix
    }
  }

  depends_on = [aws_lambda_permission.s3]
}
