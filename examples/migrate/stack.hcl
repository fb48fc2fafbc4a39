# A one-shot migration runs to completion before the app starts.
name = "migrate"

variable "schema_version" {
  type    = number
  default = 3
}

service "migrate" {
  image = "localhost/busybox:latest"
  # HCL interpolates ${...} only: "$SCHEMA_VERSION" is left for the shell.
  command = ["sh", "-c", <<-EOT
    echo "migrating schema to version $SCHEMA_VERSION"
    mkdir -p /state && echo "$SCHEMA_VERSION" > /state/version
    echo done
  EOT
  ]
  environment = {
    SCHEMA_VERSION = tostring(var.schema_version)
  }
  volumes = ["state:/state"]
  restart = "no"
}

service "app" {
  image   = "localhost/busybox:latest"
  command = ["sh", "-c", "echo schema $(cat /state/version); exec httpd -f -p 80 -h /state"]
  volumes = ["state:/state:ro"]
  ports   = ["8081:80"]

  depends_on "migrate" {
    condition = "service_completed_successfully"
  }
}

volume "state" {}
