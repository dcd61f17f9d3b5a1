package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// Kind is the first byte of every encoded value.
type Kind uint8

// The encoded kinds. Values are part of the object format; never renumber.
const (
	KindNil     Kind = 0
	KindBytes   Kind = 1
	KindF32s    Kind = 2
	KindF64s    Kind = 3
	KindI32s    Kind = 4
	KindI64s    Kind = 5
	KindString  Kind = 6
	KindInt     Kind = 7
	KindInt64   Kind = 8
	KindFloat64 Kind = 9
	KindBool    Kind = 10
	KindFloat32 Kind = 11
	KindInt32   Kind = 12
	KindUint64  Kind = 13
	KindUint32  Kind = 14
	KindUint    Kind = 15
	KindGob     Kind = 32
)

var kindNames = map[Kind]string{
	KindNil: "nil", KindBytes: "[]uint8", KindF32s: "[]float32", KindF64s: "[]float64",
	KindI32s: "[]int32", KindI64s: "[]int64", KindString: "string", KindInt: "int",
	KindInt64: "int64", KindFloat64: "float64", KindBool: "bool", KindFloat32: "float32",
	KindInt32: "int32", KindUint64: "uint64", KindUint32: "uint32", KindUint: "uint",
}

// ErrType is wrapped by decode errors caused by a value whose encoded type
// does not fit the requested Go type.
var ErrType = errors.New("codec: type mismatch")

// ErrCorrupt is wrapped by decode errors caused by malformed input.
var ErrCorrupt = errors.New("codec: corrupt data")

// TypeError describes a value of one type decoded into another.
type TypeError struct {
	Want, Got string
}

// Error names both types.
func (e *TypeError) Error() string {
	return fmt.Sprintf("codec: cannot decode %s into %s", e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrType) true.
func (e *TypeError) Unwrap() error { return ErrType }

// RefMarker precedes every object reference written by AppendRef.
var RefMarker = [10]byte{0xf1, 'g', 'o', 'r', 'a', 'y', 'r', 'e', 'f', 0x9e}

// RefLen is the length of one encoded reference (marker + 20-byte ID).
const RefLen = len(RefMarker) + 20

// AppendRef appends the encoded form of a reference to dst. Reference types
// call it from their GobEncode methods.
func AppendRef(dst []byte, id [20]byte) []byte {
	dst = append(dst, RefMarker[:]...)
	return append(dst, id[:]...)
}

// ParseRef reads a reference written by AppendRef.
func ParseRef(b []byte) ([20]byte, error) {
	var id [20]byte
	if len(b) != RefLen || !bytes.Equal(b[:len(RefMarker)], RefMarker[:]) {
		return id, fmt.Errorf("%w: bad object reference (%d bytes)", ErrCorrupt, len(b))
	}
	copy(id[:], b[len(RefMarker):])
	return id, nil
}

// Encoded is an encoded value in up to two pieces so that large numeric
// slices are never copied before they reach their destination.
type Encoded struct {
	Head []byte     // kind byte and any header
	Body []byte     // payload; may alias the caller's value: do not modify
	Refs [][20]byte // object references contained in the value
}

// Len is the total encoded length.
func (e *Encoded) Len() int { return len(e.Head) + len(e.Body) }

// CopyTo copies the encoding into dst, which must hold Len bytes.
func (e *Encoded) CopyTo(dst []byte) {
	n := copy(dst, e.Head)
	copy(dst[n:], e.Body)
}

// Bytes returns the encoding as one new slice.
func (e *Encoded) Bytes() []byte {
	b := make([]byte, e.Len())
	e.CopyTo(b)
	return b
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func rawBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// registry maps gob type names to types, for decoding into interfaces.
var registry sync.Map // string -> reflect.Type

// Register makes the dynamic type of v decodable into an interface-typed
// target (for example a task parameter of type any). Types decoded into a
// concrete target need no registration.
func Register(v any) {
	t := reflect.TypeOf(v)
	registry.Store(typeName(t), t)
	gob.Register(v)
}

func typeName(t reflect.Type) string {
	if t.PkgPath() != "" && t.Name() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// Encode encodes v. Fast-path kinds are not copied: the result aliases v.
func Encode(v any) (Encoded, error) {
	var head [9]byte
	switch x := v.(type) {
	case nil:
		return Encoded{Head: []byte{byte(KindNil)}}, nil
	case []byte:
		return fast(KindBytes, x), nil
	case []float32:
		return fastNum(KindF32s, x, 4), nil
	case []float64:
		return fastNum(KindF64s, x, 8), nil
	case []int32:
		return fastNum(KindI32s, x, 4), nil
	case []int64:
		return fastNum(KindI64s, x, 8), nil
	case string:
		return Encoded{Head: []byte{byte(KindString)}, Body: unsafe.Slice(unsafe.StringData(x), len(x))}, nil
	case int:
		return scalar(head[:], KindInt, uint64(x)), nil
	case int64:
		return scalar(head[:], KindInt64, uint64(x)), nil
	case int32:
		return scalar(head[:], KindInt32, uint64(uint32(x))), nil
	case uint64:
		return scalar(head[:], KindUint64, x), nil
	case uint32:
		return scalar(head[:], KindUint32, uint64(x)), nil
	case uint:
		return scalar(head[:], KindUint, uint64(x)), nil
	case float64:
		return scalar(head[:], KindFloat64, math.Float64bits(x)), nil
	case float32:
		return scalar(head[:], KindFloat32, uint64(math.Float32bits(x))), nil
	case bool:
		var b uint64
		if x {
			b = 1
		}
		return scalar(head[:], KindBool, b), nil
	}
	return encodeGob(v)
}

func fast(k Kind, b []byte) Encoded {
	return Encoded{Head: []byte{byte(k)}, Body: b}
}

func fastNum[T any](k Kind, s []T, size int) Encoded {
	if littleEndian {
		return fast(k, rawBytes(s))
	}
	// Big-endian hosts pay a per-element conversion; goray's targets are
	// little-endian, where the object format is the memory layout.
	out := make([]byte, len(s)*size)
	for i := range s {
		var u uint64
		switch x := any(s[i]).(type) {
		case float32:
			u = uint64(math.Float32bits(x))
		case float64:
			u = math.Float64bits(x)
		case int32:
			u = uint64(uint32(x))
		case int64:
			u = uint64(x)
		}
		if size == 4 {
			binary.LittleEndian.PutUint32(out[i*4:], uint32(u))
		} else {
			binary.LittleEndian.PutUint64(out[i*8:], u)
		}
	}
	return fast(k, out)
}

func scalar(head []byte, k Kind, u uint64) Encoded {
	h := make([]byte, 9)
	h[0] = byte(k)
	binary.LittleEndian.PutUint64(h[1:], u)
	return Encoded{Head: h}
}

func encodeGob(v any) (Encoded, error) {
	t := reflect.TypeOf(v)
	name := typeName(t)
	var buf bytes.Buffer
	buf.WriteByte(byte(KindGob))
	var n [binary.MaxVarintLen64]byte
	buf.Write(n[:binary.PutUvarint(n[:], uint64(len(name)))])
	buf.WriteString(name)
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return Encoded{}, fmt.Errorf("codec: encode %s: %w", name, err)
	}
	out := buf.Bytes()
	return Encoded{Head: out, Refs: ScanRefs(out)}, nil
}

// ScanRefs returns the references written by AppendRef inside b.
func ScanRefs(b []byte) [][20]byte {
	var refs [][20]byte
	for {
		i := bytes.Index(b, RefMarker[:])
		if i < 0 {
			return refs
		}
		b = b[i+len(RefMarker):]
		if len(b) < 20 {
			return refs
		}
		var id [20]byte
		copy(id[:], b[:20])
		refs = append(refs, id)
		b = b[20:]
	}
}

// KindOf returns the kind of an encoded value and, for gob values, the Go
// type name recorded with it.
func KindOf(data []byte) (Kind, string, error) {
	if len(data) == 0 {
		return 0, "", fmt.Errorf("%w: empty value", ErrCorrupt)
	}
	k := Kind(data[0])
	if k != KindGob {
		if _, ok := kindNames[k]; !ok {
			return 0, "", fmt.Errorf("%w: unknown kind %d", ErrCorrupt, k)
		}
		return k, kindNames[k], nil
	}
	l, n := binary.Uvarint(data[1:])
	if n <= 0 || uint64(len(data)-1-n) < l {
		return 0, "", fmt.Errorf("%w: bad type name", ErrCorrupt)
	}
	return k, string(data[1+n : 1+n+int(l)]), nil
}

// Decode decodes data into a new value of type t. A kind that does not fit t
// gives a *TypeError. Numeric slices are copied out of data, so data may be
// a shared-memory mapping or a frame buffer that is reused afterwards.
func Decode(data []byte, t reflect.Type) (reflect.Value, error) {
	k, name, err := KindOf(data)
	if err != nil {
		return reflect.Value{}, err
	}
	body := data[1:]
	if t.Kind() == reflect.Interface {
		nt, err := naturalType(k, name)
		if err != nil {
			return reflect.Value{}, err
		}
		if nt == nil { // nil value
			return reflect.Zero(t), nil
		}
		if !nt.Implements(t) {
			return reflect.Value{}, &TypeError{Want: t.String(), Got: name}
		}
		v, err := Decode(data, nt)
		if err != nil {
			return v, err
		}
		out := reflect.New(t).Elem()
		out.Set(v)
		return out, nil
	}
	mismatch := func() (reflect.Value, error) {
		return reflect.Value{}, &TypeError{Want: t.String(), Got: name}
	}
	out := reflect.New(t).Elem()
	switch k {
	case KindNil:
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Func, reflect.Chan:
			return out, nil
		}
		return mismatch()
	case KindBytes, KindF32s, KindF64s, KindI32s, KindI64s:
		want := map[Kind]reflect.Kind{KindBytes: reflect.Uint8, KindF32s: reflect.Float32,
			KindF64s: reflect.Float64, KindI32s: reflect.Int32, KindI64s: reflect.Int64}[k]
		if t.Kind() != reflect.Slice || t.Elem().Kind() != want {
			return mismatch()
		}
		size := int(t.Elem().Size())
		if len(body)%size != 0 {
			return reflect.Value{}, fmt.Errorf("%w: %s payload of %d bytes", ErrCorrupt, name, len(body))
		}
		n := len(body) / size
		s := reflect.MakeSlice(t, n, n)
		if n > 0 {
			dst := unsafe.Slice((*byte)(s.UnsafePointer()), len(body))
			if littleEndian || size == 1 {
				copy(dst, body)
			} else {
				for i := 0; i < n; i++ {
					for j := 0; j < size; j++ {
						dst[i*size+j] = body[i*size+size-1-j]
					}
				}
			}
		}
		out.Set(s)
		return out, nil
	case KindString:
		if t.Kind() != reflect.String {
			return mismatch()
		}
		out.SetString(string(body))
		return out, nil
	case KindGob:
		l, n := binary.Uvarint(data[1:])
		stream := data[1+n+int(l):]
		if err := gob.NewDecoder(bytes.NewReader(stream)).DecodeValue(out.Addr()); err != nil {
			if name != typeName(t) {
				return mismatch()
			}
			return reflect.Value{}, fmt.Errorf("%w: gob %s: %v", ErrCorrupt, name, err)
		}
		return out, nil
	}
	// Scalars.
	if len(body) != 8 {
		return reflect.Value{}, fmt.Errorf("%w: scalar %s of %d bytes", ErrCorrupt, name, len(body))
	}
	u := binary.LittleEndian.Uint64(body)
	want := map[Kind]reflect.Kind{KindInt: reflect.Int, KindInt64: reflect.Int64, KindInt32: reflect.Int32,
		KindUint64: reflect.Uint64, KindUint32: reflect.Uint32, KindUint: reflect.Uint,
		KindFloat64: reflect.Float64, KindFloat32: reflect.Float32, KindBool: reflect.Bool}[k]
	if t.Kind() != want {
		return mismatch()
	}
	switch k {
	case KindInt, KindInt64:
		out.SetInt(int64(u))
	case KindInt32:
		out.SetInt(int64(int32(uint32(u))))
	case KindUint64, KindUint32, KindUint:
		out.SetUint(u)
	case KindFloat64:
		out.SetFloat(math.Float64frombits(u))
	case KindFloat32:
		out.SetFloat(float64(math.Float32frombits(uint32(u))))
	case KindBool:
		out.SetBool(u != 0)
	}
	return out, nil
}

func naturalType(k Kind, name string) (reflect.Type, error) {
	switch k {
	case KindNil:
		return nil, nil
	case KindBytes:
		return reflect.TypeFor[[]byte](), nil
	case KindF32s:
		return reflect.TypeFor[[]float32](), nil
	case KindF64s:
		return reflect.TypeFor[[]float64](), nil
	case KindI32s:
		return reflect.TypeFor[[]int32](), nil
	case KindI64s:
		return reflect.TypeFor[[]int64](), nil
	case KindString:
		return reflect.TypeFor[string](), nil
	case KindInt:
		return reflect.TypeFor[int](), nil
	case KindInt64:
		return reflect.TypeFor[int64](), nil
	case KindInt32:
		return reflect.TypeFor[int32](), nil
	case KindUint64:
		return reflect.TypeFor[uint64](), nil
	case KindUint32:
		return reflect.TypeFor[uint32](), nil
	case KindUint:
		return reflect.TypeFor[uint](), nil
	case KindFloat64:
		return reflect.TypeFor[float64](), nil
	case KindFloat32:
		return reflect.TypeFor[float32](), nil
	case KindBool:
		return reflect.TypeFor[bool](), nil
	}
	if t, ok := registry.Load(name); ok {
		return t.(reflect.Type), nil
	}
	return nil, &TypeError{Want: "a registered type (codec.Register)", Got: name}
}

// DecodeInto decodes data into a new T.
func DecodeInto[T any](data []byte) (T, error) {
	var zero T
	v, err := Decode(data, reflect.TypeFor[T]())
	if err != nil {
		return zero, err
	}
	if x, ok := v.Interface().(T); ok {
		return x, nil
	}
	return zero, nil // a nil interface value
}

// TypeNameOf names t the way encoded values name their types, for errors.
func TypeNameOf(t reflect.Type) string { return typeName(t) }
