package runtime

// Value is one object as returned by Client.Get: its encoded bytes or the
// failure that produced it. Data may alias shared memory; call Release when
// done decoding.
type Value struct {
	Data    []byte
	Err     *ErrorInfo
	release func()
}

// Release unmaps a shared-memory object returned by Get. Safe to call twice.
func (v *Value) Release() {
	if v.release != nil {
		v.release()
		v.release = nil
	}
}

// ActorInfo describes a live actor found by name.
type ActorInfo struct {
	ID    ActorID
	Class string
}

// PGStrategy is a placement group strategy.
type PGStrategy uint8

// Placement group strategies (Ray's names).
const (
	PGPack PGStrategy = iota
	PGSpread
	PGStrictPack
	PGStrictSpread
)
