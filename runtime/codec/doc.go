// Package codec turns Go values into bytes and back for goray's object store
// and wire protocol.
//
// Every encoded value starts with a one-byte kind. The kinds that matter for
// throughput — []byte, []float32, []float64, []int32, []int64, strings and
// scalars — have fast paths: a numeric slice is written as its raw
// little-endian memory, reinterpreted with unsafe rather than walked element
// by element, so encoding a 100 MB weight vector is one memcpy (and Encode
// itself copies nothing: Encoded.Body aliases the caller's slice until it is
// written out). Everything else goes through encoding/gob, prefixed by the
// value's registered type name so that a receiver decoding into an interface
// knows what to build.
//
// Object references nested inside gob-encoded values must stay references
// (Ray's rule) and must keep their objects alive. A reference type encodes
// itself with AppendRef, which writes a 10-byte marker followed by the 20-byte
// ID; after encoding, Encode scans the output for markers and reports the IDs
// in Encoded.Refs, so the runtime can count them as "contained in" the new
// object without any global encoder state. A false positive (user bytes that
// happen to contain the marker and a live ID) only keeps an object alive a
// little longer; it never changes a value.
package codec
