package runtime

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	spec := &TaskSpec{ID: TaskID{1, 2}, Kind: KindActorMethod, Func: "f", Actor: TaskID{9},
		Args: []Arg{{IsRef: true, Ref: ObjectID{7}}, {Data: []byte("xyz")}}, NumReturns: 2,
		Resources: map[string]float64{"CPU": 1.5}, MaxRetries: -1, RetryExceptions: true,
		Strategy:  Strategy{Kind: StrategyNodeAffinity, Node: "n1", Soft: true, Bundle: -1},
		Contained: []ObjectID{{3}}, MaxRestarts: 2, MaxTaskRetries: -1, MaxConcurrency: 4, Name: "a", Detached: true, Parent: TaskID{8}}
	in := &msg{t: mPush, req: 42, n: -5, n2: 1 << 40, flag: true, str: "s", str2: "t", oid: ObjectID{1}, tid: TaskID{2},
		tids: []TaskID{{3}, {4}}, ids: []ObjectID{{5}}, data: bytes.Repeat([]byte{1}, 70<<10), spec: spec,
		args:    []wireArg{{data: []byte("a")}, {path: "/p", size: 9}},
		results: []wireResult{{data: []byte("r"), contained: []ObjectID{{6}}}},
		err:     &ErrorInfo{Kind: ErrKindApp, Task: "f", Message: "m", Cause: &ErrorInfo{Kind: ErrKindWorkerCrashed, Message: "c"}},
		res:     map[string]float64{"CPU": 2}, res2: map[string]float64{}, bundles: []map[string]float64{{"GPU": 1}}}
	frame, big := appendFrame(nil, in)
	frame = append(frame, big...)
	if int(binary.LittleEndian.Uint32(frame)) != len(frame)-4 {
		t.Fatalf("length prefix %d, frame %d", binary.LittleEndian.Uint32(frame), len(frame)-4)
	}
	out, err := decodeFrame(frame[4:])
	if err != nil {
		t.Fatal(err)
	}
	if out.req != 42 || out.n != -5 || out.n2 != 1<<40 || !out.flag || out.str != "s" || out.str2 != "t" ||
		out.oid != in.oid || out.tid != in.tid || len(out.tids) != 2 || out.tids[1] != in.tids[1] ||
		!bytes.Equal(out.data, in.data) || out.args[0].data[0] != 'a' || out.args[1].path != "/p" || out.args[1].size != 9 ||
		string(out.results[0].data) != "r" || out.results[0].contained[0] != in.results[0].contained[0] ||
		out.err.Cause.Kind != ErrKindWorkerCrashed || out.res["CPU"] != 2 || out.bundles[0]["GPU"] != 1 {
		t.Fatalf("round trip mismatch: %+v", out)
	}
	s := out.spec
	if s.ID != spec.ID || s.Func != "f" || !s.Args[0].IsRef || s.Args[0].Ref != spec.Args[0].Ref || string(s.Args[1].Data) != "xyz" ||
		s.NumReturns != 2 || s.Resources["CPU"] != 1.5 || s.MaxRetries != -1 || !s.RetryExceptions || s.Strategy != spec.Strategy ||
		s.Contained[0] != spec.Contained[0] || s.MaxConcurrency != 4 || s.Name != "a" || !s.Detached || s.MaxTaskRetries != -1 || s.Parent != spec.Parent {
		t.Fatalf("spec mismatch: %+v", s)
	}
	// Every truncation is an error, never a panic.
	for i := 0; i < len(frame)-4; i += 97 {
		if _, err := decodeFrame(frame[4 : 4+i]); err == nil {
			t.Fatalf("truncated frame of %d bytes decoded", i)
		}
	}
}
