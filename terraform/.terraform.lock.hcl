# The provider selection shipped with the bundled module: lambda-gitops writes this file into
# every work dir and runs `terraform init -lockfile=readonly`, so terraform installs exactly
# this provider build or fails. It holds the linux_amd64 hash only (src/terraform/module.rs,
# LOCK_PLATFORMS). Regenerate after changing versions.tf:
#   terraform providers lock -fs-mirror=<mirror> -platform=linux_amd64

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = ">= 5.60.0, < 7.0.0"
  hashes = [
    "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=",
  ]
}
