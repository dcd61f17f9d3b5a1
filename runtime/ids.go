package runtime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/goray/goray/runtime/objectstore"
)

// ObjectID names one immutable object. IDs are minted by the client that
// creates the object (a put or a task return) so that submission never waits
// for a round trip: the first 8 bytes are the client's ID, the next 8 a
// per-client counter, the last 4 the return index.
//
// A client's ID starts with its node's prefix (NodePrefix), so every node
// can tell which node owns an object from its ID alone, and so tell a ref
// whose owner died (ErrKindOwnerDied) from one whose object was lost.
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

// NodePrefix is the first 4 bytes of every task and object ID minted by
// the clients of node nodeID: the start of the node ID's sha256. Deriving
// it from the ID (instead of drawing it at random) lets any node that has
// seen nodeID in the membership recognise its objects without another
// gossip field; two nodes of one cluster share a prefix with probability
// about n²/2³³.
func NodePrefix(nodeID string) [4]byte {
	s := sha256.Sum256([]byte(nodeID))
	return [4]byte(s[:4])
}

// OwnerPrefix is the owner node's prefix (NodePrefix) of object id.
func OwnerPrefix(id ObjectID) [4]byte { return [4]byte(id[:4]) }
