# Expressions and the details of the mapping that docs/hcl.md promises.
variable "debug" {
  type    = bool
  default = true
}

variable "user" {
  type    = string
  default = ""
}

variable "servers" {
  default = [{ name = "a", port = 1 }, { name = "b", port = 2 }]
}

locals {
  key = "org.example.computed"
  env = { LEVEL = "debug", EMPTY = "" }
}

service "app" {
  image   = "localhost/busybox:latest"
  command = "sh -c 'echo $HOME $${HOME} ${var.debug ? "-v" : "-q"}'"
  user    = var.user != "" ? var.user : null
  environment = merge(
    { for k, v in local.env : k => v if v != "" },
    { TOKEN = null, FLAGS = "%{if var.debug}--debug%{endif}" },
  )
  labels = {
    (local.key)   = "yes"
    "servers"     = join(",", var.servers[*].name)
    "heredoc"     = <<-EOT
      indented
        more
    EOT
  }
  extra_hosts = { gateway = "10.0.0.1" }
  ports       = [for s in var.servers : { target = s.port, published = 8000 + s.port }]
  restart     = "no"
}
