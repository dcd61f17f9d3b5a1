package runtime

import (
	"encoding/binary"
	"encoding/hex"
	"github.com/goray/goray/runtime/objectstore"
)

// ObjectID names one immutable object. IDs are minted by the client that
// creates the object (a put or a task return) so that submission never waits
// for a round trip: the first 8 bytes are the client's ID, the next 8 a
// per-client counter, the last 4 the return index.
type ObjectID = objectstore.ObjectID

// TaskID names one task (and, for an actor creation task, the actor).
type TaskID [16]byte

// String returns the ID as hex.
func (id TaskID) String() string { return hex.EncodeToString(id[:]) }

// ReturnID is the ID of the i-th return object of task t.
func (t TaskID) ReturnID(i int) ObjectID {
	var o ObjectID
	copy(o[:16], t[:])
	binary.LittleEndian.PutUint32(o[16:], uint32(i)+1)
	return o
}

// ActorID names an actor; it is the ID of its creation task.
type ActorID = TaskID
