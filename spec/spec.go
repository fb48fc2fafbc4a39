// Package spec loads stacks: Compose YAML through compose-go and berth's HCL
// format, both into one model, compose-go's types.Project. It validates,
// normalises and hashes that model. It is pure apart from reading the input
// files it is pointed at and, through Cache, reading and writing the cache
// directory its caller names: it never touches containers, networks or
// volumes. compose-go logs its warnings through logrus's global logger;
// loading collects them (see Stack.Warnings) and restores the logger.
package spec
