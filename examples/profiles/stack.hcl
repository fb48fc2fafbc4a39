# Services behind profiles start only when their profile is enabled.
name = "profiles"

service "app" {
  image   = "localhost/busybox:latest"
  command = ["httpd", "-f", "-p", "80"]
  ports   = ["8083:80"]
}

service "debug" {
  image      = "localhost/busybox:latest"
  command    = ["sh", "-c", "while true; do wget -q -O - http://app/ >/dev/null && echo app is up; sleep 5; done"]
  profiles   = ["debug"]
  depends_on = ["app"]
}

service "seed" {
  image    = "localhost/busybox:latest"
  command  = ["echo", "seeding test data"]
  profiles = ["tools", "test"]
  restart  = "no"
}
