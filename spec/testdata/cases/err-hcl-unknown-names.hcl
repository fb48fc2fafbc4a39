service "web" {
  imgae = "nginx"
  helthcheck {
    test = ["CMD", "true"]
  }
}
