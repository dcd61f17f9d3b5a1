package remote

import (
	"errors"
	"testing"

	grt "github.com/goray/goray/runtime"
)

// A warning frame round-trips, and a truncated or inconsistent one is an
// errBadWarning rather than a panic or a garbled message.
func TestWarningFrame(t *testing.T) {
	task := grt.TaskID{9, 8, 7}
	good := encodeWarning(task, "{CPU: 1}", "Warning: it waits")
	for _, tc := range []struct {
		name    string
		payload []byte
		ok      bool
	}{
		{"whole", good, true},
		{"empty text and shape", encodeWarning(task, "", ""), true},
		{"shorter than a task ID", good[:10], false},
		{"no shape length", good[:16], false},
		{"shape longer than the frame", append(append([]byte{}, good[:16]...), 0x7f, 'x'), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotTask, shape, text, err := decodeWarning(tc.payload)
			if !tc.ok {
				if !errors.Is(err, errBadWarning) {
					t.Fatalf("decode: %v, want errBadWarning", err)
				}
				return
			}
			if err != nil || gotTask != task {
				t.Fatalf("decode: task %v, %v", gotTask, err)
			}
			if tc.name == "whole" && (shape != "{CPU: 1}" || text != "Warning: it waits") {
				t.Fatalf("decode: shape %q, text %q", shape, text)
			}
		})
	}
}
