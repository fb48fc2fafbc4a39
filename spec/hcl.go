package spec

import "errors"

// HCLInput is what decoding an HCL stack file may read besides its source:
// variable values from -var, -var-file and BERTH_VAR_name, and the environment
// for the env() function. Everything is passed in; the decoder reads no
// global state.
type HCLInput struct {
	Vars     map[string]string // -var name=value, highest precedence
	VarFiles []string          // -var-file paths, in order
	Env      map[string]string // the environment (BERTH_VAR_name and env())
}

// decodeHCL evaluates one HCL stack file to the plain data of a Compose file
// (maps, slices, strings, numbers, bools), ready for compose-go's loader as
// types.ConfigFile.Config. Problems are returned as Problems with positions.
func decodeHCL(filename string, src []byte, in HCLInput) (map[string]any, error) {
	return nil, errors.New(filename + ": HCL stack files are not supported yet")
}
