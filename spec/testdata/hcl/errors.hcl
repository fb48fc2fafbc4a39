# Every problem is reported at once, each at its line.
variable "port" {
  type    = number
  default = "eighty"
}

service "web" {
  imgae = "nginx"
  ports = ["${var.prot}:80"]
  helthcheck {
    test = ["CMD", "true"]
  }
  depends_on "db" {
    condtion = "service_healthy"
  }
}

servise "db" {
  image = "postgres"
}
