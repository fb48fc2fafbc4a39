# A named volume keeps data across down/up: every start increments a
# counter stored in it.
name = "volume"

service "counter" {
  image = "localhost/busybox:latest"
  command = [
    "sh", "-c",
    "n=$(cat /data/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/count; echo \"started $n times\"; exec httpd -f -p 80 -h /data",
  ]
  ports = ["8082:80"]

  volume {
    type   = "volume"
    source = "data"
    target = "/data"
    volume {
      nocopy = true
    }
  }
}

volume "data" {
  labels = {
    "org.example.keep" = "true"
  }
}
