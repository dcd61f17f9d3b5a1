package objectstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ObjectID names one immutable object. Twenty random bytes make collisions between
// independently generated IDs (drivers, workers, nodes) negligible without coordination,
// which is why nothing in the cluster hands out IDs centrally.
type ObjectID [20]byte

// NewObjectID returns a random ID from the operating system's CSPRNG.
func NewObjectID() ObjectID {
	var id ObjectID
	// crypto/rand.Read never returns an error on supported platforms (it panics
	// internally if the kernel source fails), so there is nothing to handle here.
	_, _ = rand.Read(id[:])
	return id
}

// String returns the ID as 40 lower-case hex digits; it is also the object's file name.
func (id ObjectID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero value, which never names a real object.
func (id ObjectID) IsZero() bool { return id == ObjectID{} }

// ParseObjectID parses the 40-hex-digit form produced by String.
func ParseObjectID(s string) (ObjectID, error) {
	var id ObjectID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("objectstore: parse object ID %q: want %d hex digits, got %d", s, 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ObjectID{}, fmt.Errorf("objectstore: parse object ID %q: %w", s, err)
	}
	return id, nil
}
