# Variables: BERTH_VAR_env=test is set in the test's environment.
variable "env" {
  type        = string
  default     = "dev"
  description = "Deployment environment."
  validation {
    condition     = contains(["dev", "test", "prod"], var.env)
    error_message = "env must be dev, test or prod."
  }
}

variable "replicas" {
  type = map(number)
  default = {
    dev  = 1
    test = 2
    prod = 4
  }
}

variable "extra_env" {
  type = map(string)
  default = {}
}

locals {
  name = "app-${var.env}"
  env = merge({
    APP_ENV = var.env
    HOME    = env("HOME")
  }, var.extra_env)
}

name = local.name

service "app" {
  image       = "localhost/busybox:latest"
  command     = ["sh", "-c", "echo $APP_ENV; sleep 3600"]
  environment = local.env
  deploy {
    replicas = var.replicas[var.env]
  }
  labels = {
    "org.example.description" = "app for ${upper(var.env)}"
  }
}
