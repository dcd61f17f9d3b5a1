package codec

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"unsafe"
)

type point struct {
	X, Y float64
	Tag  string
}

type withRef struct {
	Name string
	Ref  fakeRef
	Refs []fakeRef
}

// fakeRef encodes itself the way goray's ObjectRef does.
type fakeRef struct{ id [20]byte }

func (r fakeRef) GobEncode() ([]byte, error) { return AppendRef(nil, r.id), nil }
func (r *fakeRef) GobDecode(b []byte) error {
	id, err := ParseRef(b)
	r.id = id
	return err
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   any
		kind Kind
	}{
		{"bytes", []byte{1, 2, 3}, KindBytes},
		{"empty bytes", []byte{}, KindBytes},
		{"f32s", []float32{1.5, -2, float32(math.Inf(1))}, KindF32s},
		{"f64s", []float64{math.Pi, math.Copysign(0, -1), 1e300}, KindF64s},
		{"i32s", []int32{-1, 0, math.MaxInt32}, KindI32s},
		{"i64s", []int64{math.MinInt64, 7}, KindI64s},
		{"string", "héllo", KindString},
		{"int", -42, KindInt},
		{"int64", int64(math.MaxInt64), KindInt64},
		{"int32", int32(-5), KindInt32},
		{"uint64", uint64(math.MaxUint64), KindUint64},
		{"uint32", uint32(9), KindUint32},
		{"uint", uint(3), KindUint},
		{"float64", 2.5, KindFloat64},
		{"float32", float32(0.25), KindFloat32},
		{"bool", true, KindBool},
		{"struct", point{1, 2, "p"}, KindGob},
		{"map", map[string]int{"a": 1}, KindGob},
		{"slice of structs", []point{{X: 1}, {Y: 2}}, KindGob},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Encode(c.in)
			if err != nil {
				t.Fatal(err)
			}
			b := e.Bytes()
			if Kind(b[0]) != c.kind {
				t.Fatalf("kind %d, want %d", b[0], c.kind)
			}
			v, err := Decode(b, reflect.TypeOf(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v.Interface(), c.in) {
				t.Fatalf("got %#v, want %#v", v.Interface(), c.in)
			}
		})
	}
}

func TestFastPathAliasesAndCopies(t *testing.T) {
	in := []float64{1, 2, 3}
	e, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	// Encode does not copy: the body is the slice's memory.
	if len(e.Body) != 24 || unsafe.Pointer(&e.Body[0]) != unsafe.Pointer(&in[0]) {
		t.Fatal("fast path copied the slice")
	}
	b := e.Bytes()
	out, err := DecodeInto[[]float64](b)
	if err != nil {
		t.Fatal(err)
	}
	b[1] = 0xff // decode copied out of the buffer
	if out[0] != 1 {
		t.Fatal("decoded slice aliases the buffer")
	}
}

func TestTypeMismatch(t *testing.T) {
	cases := []struct {
		in   any
		into reflect.Type
	}{
		{7, reflect.TypeFor[string]()},
		{"x", reflect.TypeFor[int]()},
		{[]float32{1}, reflect.TypeFor[[]float64]()},
		{1.5, reflect.TypeFor[int]()},
		{point{}, reflect.TypeFor[int]()},
		{[]byte{1}, reflect.TypeFor[string]()},
	}
	for _, c := range cases {
		e, _ := Encode(c.in)
		_, err := Decode(e.Bytes(), c.into)
		var te *TypeError
		if !errors.As(err, &te) || !errors.Is(err, ErrType) {
			t.Errorf("%T into %s: %v", c.in, c.into, err)
		}
	}
}

func TestCorruptInputIsAnError(t *testing.T) {
	e, _ := Encode(point{1, 2, "abc"})
	good := e.Bytes()
	inputs := [][]byte{nil, {200}, {byte(KindInt), 1, 2}, {byte(KindF64s), 1, 2, 3}, {byte(KindGob), 0xff}, good[:len(good)/2]}
	for _, in := range inputs {
		if _, err := Decode(in, reflect.TypeFor[point]()); err == nil {
			t.Errorf("decoded %v", in)
		}
	}
}

func TestInterfaceTargets(t *testing.T) {
	Register(point{})
	for _, in := range []any{3, "s", []float64{1}, point{X: 1}, nil} {
		e, _ := Encode(in)
		v, err := DecodeInto[any](e.Bytes())
		if err != nil {
			t.Fatalf("%T: %v", in, err)
		}
		if !reflect.DeepEqual(v, in) {
			t.Fatalf("got %#v, want %#v", v, in)
		}
	}
	type unregistered struct{ A int }
	e, _ := Encode(unregistered{1})
	if _, err := DecodeInto[any](e.Bytes()); !errors.Is(err, ErrType) {
		t.Fatalf("unregistered into any: %v", err)
	}
}

func TestNestedRefsAreReported(t *testing.T) {
	a, b, c := fakeRef{id: [20]byte{1}}, fakeRef{id: [20]byte{2}}, fakeRef{id: [20]byte{3}}
	in := withRef{Name: "n", Ref: a, Refs: []fakeRef{b, c}}
	e, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Refs) != 3 || e.Refs[0] != a.id || e.Refs[1] != b.id || e.Refs[2] != c.id {
		t.Fatalf("refs %v", e.Refs)
	}
	out, err := DecodeInto[withRef](e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("got %+v", out)
	}
	if _, err := ParseRef([]byte("short")); !errors.Is(err, ErrCorrupt) {
		t.Fatal("bad ref accepted")
	}
}

func BenchmarkEncodeFloat64s(b *testing.B) {
	v := make([]float64, 1<<20)
	b.SetBytes(int64(len(v) * 8))
	dst := make([]byte, len(v)*8+1)
	for b.Loop() {
		e, _ := Encode(v)
		e.CopyTo(dst)
	}
}

func BenchmarkDecodeFloat64s(b *testing.B) {
	v := make([]float64, 1<<20)
	e, _ := Encode(v)
	data := e.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, _ = DecodeInto[[]float64](data)
	}
}

var _ = bytes.Equal
