# The lambda-gitops module: one Lambda service's staging, production and preview functions,
# their packages, log groups, aliases, execution role and S3 triggers. lambda-gitops writes
# the variables (lambda-gitops.tfvars.json) and a backend file beside these; nothing here
# knows about CI, GitHub or emulators.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}
