# A single web server: busybox httpd serving ./html on port 8080.
name = "web"

variable "port" {
  type        = number
  default     = 8080
  description = "Host port the web server is published on."
  validation {
    condition     = var.port > 0 && var.port < 65536
    error_message = "The port must be between 1 and 65535."
  }
}

service "web" {
  image   = "localhost/busybox:latest"
  command = ["httpd", "-f", "-v", "-p", "80", "-h", "/www"]
  ports   = ["${var.port}:80"]

  volume {
    type      = "bind"
    source    = "./html"
    target    = "/www"
    read_only = true
  }

  restart = "unless-stopped"
  # httpd as PID 1 would ignore SIGTERM; berth's init forwards it, so
  # down takes milliseconds, not the 10 s stop timeout.
  init = true
  labels = {
    "org.example.role" = "frontend"
  }
}
