# An HCL stack with variables, locals and long-form blocks.
name = "hclcase"

variable "replicas" {
  type    = number
  default = 2
}

locals {
  image = "localhost/busybox:latest"
}

service "web" {
  image   = local.image
  command = ["httpd", "-f", "-p", "80"]
  ports   = ["8080:80"]
  port {
    target    = 443
    published = "8443"
  }
  deploy {
    replicas = var.replicas
  }
  depends_on "db" {
    condition = "service_healthy"
  }
}

service "db" {
  image = local.image
  healthcheck {
    test = ["CMD-SHELL", "true"]
  }
}
