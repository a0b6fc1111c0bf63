# The contract with lambda-gitops's `render` stage (src/render.rs): every variable below is
# written to terraform.tfvars.json; `lambda-gitops vars` prints them.

variable "service_name" {
  description = "The service, as named in the gitops repo."
  type        = string
}

variable "aws_region" {
  description = "Region of the functions and buckets."
  type        = string

  validation {
    condition     = var.aws_region != ""
    error_message = "aws_region is empty: pass --aws-region or set AWS_REGION."
  }
}

variable "runtime" {
  type = string
}

variable "handler" {
  type = string
}

variable "memory_size" {
  type    = number
  default = 128
}

variable "timeout" {
  type    = number
  default = 3
}

variable "role_arn" {
  description = "An existing execution role; empty to create one for the service."
  type        = string
  default     = ""
}

variable "trigger_bucket" {
  description = "Existing bucket whose ObjectCreated events invoke the functions."
  type        = string
}

variable "package_bucket" {
  description = "Existing bucket the packages are uploaded to."
  type        = string
}

variable "package_key_prefix" {
  description = "Packages are uploaded to <prefix><sha256-hex>.zip."
  type        = string
}

variable "packages" {
  description = "SHA-256 hex → local package file, one per distinct package."
  type        = map(string)
  default     = {}
}

# Staging and production: empty strings when the environment is not declared.

variable "staging_version" {
  type    = string
  default = ""
}

variable "staging_commit_sha" {
  type    = string
  default = ""
}

variable "staging_source_code_hash" {
  description = "Base64 SHA-256 of the staging package (filebase64sha256)."
  type        = string
  default     = ""
}

variable "staging_function_name" {
  type    = string
  default = ""
}

variable "staging_trigger_prefix" {
  type    = string
  default = ""
}

variable "staging_environment" {
  type    = map(string)
  default = {}
}

variable "staging_package" {
  description = "Key into var.packages."
  type        = string
  default     = ""
}

variable "production_version" {
  type    = string
  default = ""
}

variable "production_commit_sha" {
  type    = string
  default = ""
}

variable "production_source_code_hash" {
  type    = string
  default = ""
}

variable "production_function_name" {
  type    = string
  default = ""
}

variable "production_trigger_prefix" {
  type    = string
  default = ""
}

variable "production_environment" {
  type    = map(string)
  default = {}
}

variable "production_package" {
  type    = string
  default = ""
}

# Previews, keyed by PR number (as a string).

variable "preview_prs" {
  description = "PR numbers with a preview."
  type        = set(string)
  default     = []
}

variable "preview_versions" {
  type    = map(string)
  default = {}
}

variable "preview_commit_shas" {
  type    = map(string)
  default = {}
}

variable "preview_source_code_hashes" {
  type    = map(string)
  default = {}
}

variable "preview_function_names" {
  type    = map(string)
  default = {}
}

variable "preview_trigger_prefixes" {
  type    = map(string)
  default = {}
}

variable "preview_environment" {
  description = "Environment variables of every preview."
  type        = map(string)
  default     = {}
}

variable "preview_packages" {
  description = "PR → key into var.packages, for previews staged by lambda-gitops."
  type        = map(string)
  default     = {}
}

variable "preview_s3_keys" {
  description = "PR → an object already in the package bucket."
  type        = map(string)
  default     = {}
}
