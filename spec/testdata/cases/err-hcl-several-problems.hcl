service "web" {
  image = "nginx"
  ports = ["8080:80", "80:abc"]
  volumes = [
    "./html:/usr/share/nginx/html:ro",
    "data:/data:rw:extra:bad",
  ]
  scale = "two"
  restart = 3
}
