package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// ServiceHash is the config hash of one service: it changes exactly when
// something that reaches the service's containers changes. imageID is the
// resolved ID of the service's image ("" when not known yet).
//
// Placeholder until the real hash lands (see docs/design.md).
func ServiceHash(p *types.Project, service string, imageID string) (string, error) {
	s, err := p.GetService(service)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", service, err)
	}
	s.DependsOn = nil
	data, err := json.Marshal(struct {
		Service types.ServiceConfig
		ImageID string
	}{s, imageID})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", service, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
