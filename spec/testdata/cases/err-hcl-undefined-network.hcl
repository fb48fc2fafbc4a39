service "web" {
  image    = "nginx"
  networks = ["front"]
}
