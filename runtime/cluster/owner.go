package cluster

import "hash/fnv"

// Owner picks the node that owns key among members (node IDs of live
// members) by rendezvous (highest-random-weight) hashing: every node scores
// hash(key, id) and the highest score wins. Every node that sees the same
// member set computes the same owner, without coordination, and when a member
// leaves only the keys it owned move (each to its own runner-up), so handover
// touches 1/n of the keys. It returns "" when members is empty.
//
// The order of members does not matter.
func Owner(key string, members []string) string {
	best, bestScore := "", uint64(0)
	for _, id := range members {
		s := rendezvousScore(key, id)
		// Ties (astronomically unlikely) break on the ID so the result never
		// depends on input order.
		if best == "" || s > bestScore || (s == bestScore && id < best) {
			best, bestScore = id, s
		}
	}
	return best
}

// rendezvousScore hashes key and id with FNV-1a and finishes with a
// SplitMix64 mix so scores are well spread even for similar IDs.
func rendezvousScore(key, id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
