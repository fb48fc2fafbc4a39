# A web front end, an API and a database-like service, started in order:
# db must be healthy before api starts, api healthy before web.
name = "webapp"

locals {
  image = "localhost/busybox:latest"

  # Every service checks itself the same way, every 2 seconds.
  http_check = {
    interval = "2s"
    timeout  = "1s"
    retries  = 10
  }
}

service "web" {
  image   = local.image
  command = ["httpd", "-f", "-p", "80", "-h", "/www"]
  ports   = ["8080:80"]

  config {
    source = "index"
    target = "/www/index.html"
    mode   = 292 # 0444
  }

  depends_on "api" {
    condition = "service_healthy"
  }

  healthcheck = merge(local.http_check, {
    test = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
  })
}

service "api" {
  image   = local.image
  command = ["httpd", "-f", "-p", "8000", "-h", "/srv"]
  environment = {
    DB_HOST   = "db"
    DB_PORT   = "5432"
    LOG_LEVEL = "info"
  }
  volumes = ["./api:/srv:ro"]

  depends_on "db" {
    condition = "service_healthy"
    restart   = true
  }

  healthcheck {
    test         = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health"]
    interval     = local.http_check.interval
    timeout      = local.http_check.timeout
    retries      = local.http_check.retries
    start_period = "1s"
  }
}

service "db" {
  image       = local.image
  command     = ["sh", "-c", "touch /tmp/ready && exec sleep 2147483647"]
  stop_signal = "SIGKILL"

  healthcheck {
    test     = ["CMD-SHELL", "test -f /tmp/ready"]
    interval = "1s"
    retries  = 30
  }
}

config "index" {
  content = <<-EOT
    <!doctype html>
    <h1>webapp</h1>
    <p>The API answers on port 8000.</p>
  EOT
}
