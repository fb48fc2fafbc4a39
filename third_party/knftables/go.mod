module sigs.k8s.io/knftables

go 1.21

require (
	github.com/google/go-cmp v0.5.9
	github.com/lithammer/dedent v1.1.0
)
