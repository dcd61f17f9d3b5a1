package objectstore

import "errors"

// Sentinel errors. Every error the store returns wraps one of these when the caller can act
// on the reason; test with errors.Is.
var (
	// ErrNotFound: the object was never stored here, was deleted, or its creation was aborted.
	ErrNotFound = errors.New("objectstore: object not found")
	// ErrObjectLost: the object was marked lost (for example its data lived on a dead node).
	ErrObjectLost = errors.New("objectstore: object lost")
	// ErrStoreFull: the object is larger than the store's limit, or nothing is left to spill
	// to make room for it, or spilling itself failed (for example the spill disk is full).
	ErrStoreFull = errors.New("objectstore: store full")
	// ErrExists: an object with this ID is already stored or being created. Objects are
	// immutable, so a second Put of the same ID is a caller bug, not an overwrite.
	ErrExists = errors.New("objectstore: object already exists")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("objectstore: store closed")
)
