variable "data_dir" {
  default = "/srv/data"
}

service "app" {
  image   = "busybox"
  volumes = ["${var.data_dir}:"]
}
