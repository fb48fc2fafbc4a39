# The HCL is fine, compose-go's validation is not: the problem is still
# reported at the HCL line that set the value.
service "web" {
  image = "nginx"
  ports = [
    "8080:80",
    "80:abc",
  ]
}
