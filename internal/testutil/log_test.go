package testutil

import (
	"slices"
	"testing"
)

func TestLineWriterSplitsLinesAndStops(t *testing.T) {
	var got []string
	w := &lineWriter{emit: func(s string) { got = append(got, s) }}
	for _, p := range []string{"one\ntw", "o\n", "", "three\nfour\nfi", "ve"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if want := []string{"one", "two", "three", "four"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	// stop flushes the unterminated tail, then drops everything: a node may
	// log after its test ended, when t.Log would panic.
	w.stop()
	if _, err := w.Write([]byte("late\n")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"one", "two", "three", "four", "five"}; !slices.Equal(got, want) {
		t.Fatalf("after stop: lines %q, want %q", got, want)
	}
}
