// Package spec loads stacks: Compose YAML through compose-go and berth's HCL
// format, both into one model, compose-go's types.Project. It validates,
// normalises and hashes that model. It is pure apart from reading the input
// files it is pointed at: it never touches containers, networks or volumes.
package spec
