package spec

// Label keys berth writes on every object of a stack. The io.berth.* keys are
// berth's own; the com.docker.compose.* twins are written too so that tools
// that know Compose recognise berth's containers.
const (
	LabelStack      = "io.berth.stack"
	LabelService    = "io.berth.service"
	LabelNumber     = "io.berth.number"
	LabelConfigHash = "io.berth.config-hash"
	LabelOneoff     = "io.berth.oneoff"
	LabelNetwork    = "io.berth.network" // on networks: the stack-local name
	LabelVolume     = "io.berth.volume"  // on volumes: the stack-local name
	LabelFiles      = "io.berth.config-files"
	LabelWorkingDir = "io.berth.working-dir"

	ComposeProject     = "com.docker.compose.project"
	ComposeService     = "com.docker.compose.service"
	ComposeNumber      = "com.docker.compose.container-number"
	ComposeConfigHash  = "com.docker.compose.config-hash"
	ComposeOneoff      = "com.docker.compose.oneoff"
	ComposeNetwork     = "com.docker.compose.network"
	ComposeVolume      = "com.docker.compose.volume"
	ComposeConfigFiles = "com.docker.compose.project.config_files"
	ComposeWorkingDir  = "com.docker.compose.project.working_dir"
	ComposeVersion     = "com.docker.compose.version"
)
