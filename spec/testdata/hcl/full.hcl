# Every kind of service attribute berth supports, in HCL.
name = "full"

variable "tag" {
  type    = string
  default = "latest"
}

variable "replicas" {
  type    = number
  default = 2
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 10
    error_message = "Between 1 and 10 replicas."
  }
}

locals {
  image  = "localhost/busybox:${var.tag}"
  common = { "org.example.stack" = "full" }
}

x-defaults = {
  restart = "unless-stopped"
}

service "base" {
  image   = local.image
  restart = "always"
}

service "web" {
  extends {
    service = "base"
  }
  image          = local.image
  command        = ["httpd", "-f", "-p", "80"]
  entrypoint     = "/bin/sh -c"
  environment = {
    MODE  = "prod"
    EMPTY = null
  }
  env_file    = ["web.env"]
  labels      = merge(local.common, { role = "web" })
  ports       = ["8080:80", "127.0.0.1:8443:443/tcp"]
  port {
    name      = "metrics"
    target    = 9090
    published = "9090"
    host_ip   = "127.0.0.1"
    protocol  = "tcp"
    mode      = "host"
  }
  expose  = ["3000"]
  volumes = ["data:/data", "./html:/www:ro"]
  volume {
    type      = "bind"
    source    = "./conf"
    target    = "/etc/app"
    read_only = true
    bind {
      create_host_path = true
    }
  }
  volume {
    type   = "tmpfs"
    target = "/cache"
    tmpfs {
      size = 1048576
    }
  }
  tmpfs     = ["/run", "/tmp:size=64m"]
  user      = "1000:1000"
  working_dir = "/www"
  hostname  = "web"
  domainname = "example.internal"
  cap_add   = ["NET_ADMIN"]
  cap_drop  = ["ALL"]
  privileged = false
  read_only  = true
  init       = true
  stop_signal = "SIGTERM"
  stop_grace_period = "20s"
  ulimit "nofile" {
    soft = 1024
    hard = 4096
  }
  sysctls = { "net.core.somaxconn" = "1024" }
  extra_hosts = ["gateway:10.0.0.1"]
  dns = ["1.1.1.1"]
  dns_search = ["example.internal"]
  security_opt = ["no-new-privileges:true"]
  shm_size = "64m"
  pull_policy = "missing"
  platform = "linux/amd64"
  profiles = ["web"]
  healthcheck {
    test         = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
    interval     = "10s"
    timeout      = "2s"
    retries      = 3
    start_period = "5s"
  }
  depends_on "db" {
    condition = "service_healthy"
    restart   = true
  }
  depends_on "migrate" {
    condition = "service_completed_successfully"
  }
  network "front" {
    aliases = ["www"]
  }
  network "back" {
    ipv4_address = cidrhost("172.30.0.0/24", 10)
  }
  secret {
    source = "token"
    target = "token"
    uid    = "1000"
    gid    = "1000"
    mode   = 256
  }
  config {
    source = "index"
    target = "/www/index.html"
  }
  deploy {
    replicas = var.replicas
    resources {
      limits {
        cpus   = "0.5"
        memory = "128M"
        pids   = 100
      }
      reservations {
        memory = "32M"
      }
    }
    restart_policy {
      condition    = "on-failure"
      delay        = "5s"
      max_attempts = 3
    }
  }
  develop {
    watch {
      path   = "./html"
      action = "sync"
      target = "/www"
      ignore = ["*.tmp"]
    }
  }
  logging {
    driver  = "json-file"
    options = { max-size = "10m", max-file = "3" }
  }
  x-note = "extensions pass through"
}

service "db" {
  image       = local.image
  command     = ["sleep", "infinity"]
  network_mode = "none"
  scale       = 1
  healthcheck {
    test = ["CMD-SHELL", "true"]
  }
  secrets = ["token"]
}

service "migrate" {
  image   = local.image
  command = "echo migrated"
  restart = "no"
  profiles = ["web"]
}

service "builder" {
  build {
    context    = "."
    dockerfile = "Dockerfile"
    args       = { VERSION = var.tag }
    target     = "prod"
    labels     = local.common
  }
  profiles = ["build"]
}

network "front" {}

network "back" {
  driver   = "bridge"
  internal = true
  ipam {
    config {
      subnet  = "172.30.0.0/24"
      gateway = "172.30.0.1"
    }
  }
  labels = local.common
}

volume "data" {
  labels = local.common
}

secret "token" {
  file = "./token.txt"
}

config "index" {
  content = "<h1>full</h1>\n"
}
