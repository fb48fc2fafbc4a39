# Two networks: the proxy reaches the front end, only the back end reaches
# the database. db cannot be reached from proxy.
name = "networks"

locals {
  back_subnet = "172.28.1.0/24"
}

service "proxy" {
  image    = "localhost/busybox:latest"
  command  = ["httpd", "-f", "-p", "80"]
  ports    = ["8084:80"]
  networks = ["front"]
}

service "app" {
  image   = "localhost/busybox:latest"
  command = ["httpd", "-f", "-p", "8000"]

  network "front" {
    aliases = ["api"]
  }
  network "back" {
    ipv4_address = cidrhost(local.back_subnet, 10)
  }
}

service "db" {
  image   = "localhost/busybox:latest"
  command = ["sh", "-c", "exec sleep 2147483647"]

  network "back" {
    aliases      = ["database"]
    ipv4_address = cidrhost(local.back_subnet, 20)
  }
}

network "front" {
  driver = "bridge"
}

network "back" {
  driver   = "bridge"
  internal = true
  ipam {
    config {
      subnet  = local.back_subnet
      gateway = cidrhost(local.back_subnet, 1)
    }
  }
}
