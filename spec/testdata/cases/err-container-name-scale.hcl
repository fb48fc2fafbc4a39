service "web" {
  image          = "nginx"
  container_name = "web"
  scale          = 3
}
