package cni

import (
	"crypto/sha256"
	"encoding/hex"
)

// EndpointID is the ID inspect shows for a container's endpoint on a
// network, Docker's EndpointID (64 hex digits): the same in `inspect
// CONTAINER` (NetworkSettings.Networks) and `network inspect`
// (Containers), derived from the container's and the network's IDs, so it
// needs no record. It is pure.
func EndpointID(containerID, networkID string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + networkID))
	return hex.EncodeToString(sum[:])
}
