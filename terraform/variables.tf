# The contract with lambda-gitops's `render` stage (src/render.rs): every variable below is
# written to lambda-gitops.tfvars.json; `lambda-gitops vars` prints them.

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

variable "tool_version" {
  description = "The lambda-gitops version, tagged on every resource."
  type        = string
  default     = "unknown"
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

variable "deployments" {
  description = "One entry per function, keyed staging, production or pr-<N>: what it runs and with which settings."
  type = map(object({
    version        = string
    commit_sha     = optional(string, "")
    function_name  = string
    trigger_prefix = string
    package = object({
      # Key into var.packages when this module uploads the package; null for an object
      # already in the bucket (s3_key).
      upload           = optional(string)
      s3_key           = string
      source_code_hash = string
    })
    runtime                 = string
    handler                 = string
    architecture            = optional(string, "x86_64")
    layers                  = optional(list(string), [])
    ephemeral_storage       = optional(number, 512)
    memory_size             = optional(number, 128)
    timeout                 = optional(number, 3)
    environment             = optional(map(string), {})
    reserved_concurrency    = optional(number)
    provisioned_concurrency = optional(number, 0)
    tracing                 = optional(string, "PassThrough")
    vpc = optional(object({
      subnet_ids         = list(string)
      security_group_ids = list(string)
    }))
    log_retention_days = optional(number, 30)
    description        = optional(string, "")
    tags               = optional(map(string), {})
    # While a rollout holds `live` on an older published version (lambda-gitops shifts the
    # traffic itself); null: `live` follows the newest published version.
    live_version = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for key in keys(var.deployments) : can(regex("^(staging|production|pr-[1-9][0-9]*)$", key))])
    error_message = "deployments are keyed staging, production or pr-<N>."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : can(regex("^[A-Za-z0-9_-]{1,64}$", d.function_name))])
    error_message = "function_name must be 1-64 letters, digits, _ or -."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : d.memory_size >= 128 && d.memory_size <= 10240 && d.timeout >= 1 && d.timeout <= 900])
    error_message = "memory_size must be 128-10240 MiB and timeout 1-900 seconds."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : d.ephemeral_storage >= 512 && d.ephemeral_storage <= 10240])
    error_message = "ephemeral_storage must be 512-10240 MiB."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : contains(["x86_64", "arm64"], d.architecture) && contains(["Active", "PassThrough"], d.tracing)])
    error_message = "architecture must be x86_64 or arm64, tracing Active or PassThrough."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], d.log_retention_days)])
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : d.provisioned_concurrency >= 0 && (d.reserved_concurrency == null ? true : d.reserved_concurrency >= d.provisioned_concurrency)])
    error_message = "provisioned_concurrency must be at least 0 and within reserved_concurrency."
  }
}
