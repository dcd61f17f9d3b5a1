package objectstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"testing"
)

// TestIngest fills objects front to back from different sources, into a fresh file and into
// pooled memory, and reads them back; short and overlong writes are refused.
func TestIngest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	const size = 3<<20 + 12345
	// tcpPair returns both ends of a loopback TCP connection, so that ReadFrom can splice.
	tcpPair := func(t *testing.T) (client, server net.Conn) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		acc := make(chan net.Conn, 1)
		go func() {
			c, _ := l.Accept()
			acc <- c
		}()
		client, err = net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server = <-acc
		if server == nil {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		return client, server
	}
	fill := []struct {
		name string
		do   func(t *testing.T, in *Ingest, data []byte) error
	}{
		{"writes", func(_ *testing.T, in *Ingest, data []byte) error {
			for len(data) > 0 {
				n := min(len(data), 100000)
				if _, err := in.Write(data[:n]); err != nil {
					return err
				}
				data = data[n:]
			}
			return nil
		}},
		{"reader", func(_ *testing.T, in *Ingest, data []byte) error {
			// More bytes follow the object in the stream: ReadFrom must stop at its end.
			src := bytes.NewReader(append(bytes.Clone(data), "trailer"...))
			if _, err := in.ReadFrom(src); err != nil {
				return err
			}
			if rest, _ := io.ReadAll(src); string(rest) != "trailer" {
				return errors.New("ReadFrom read past the object")
			}
			return nil
		}},
		{"tcp", func(t *testing.T, in *Ingest, data []byte) error {
			c, s := tcpPair(t)
			go func() { _, _ = c.Write(append(bytes.Clone(data), "trailer"...)) }()
			// In pieces, as a transfer delivers it chunk by chunk.
			for rest := int64(len(data)); rest > 0; {
				k := min(rest, 1<<20)
				if _, err := in.ReadFrom(&io.LimitedReader{R: s, N: k}); err != nil {
					return err
				}
				rest -= k
			}
			rest := make([]byte, 7)
			if _, err := io.ReadFull(s, rest); err != nil || string(rest) != "trailer" {
				return errors.New("ReadFrom read past the object")
			}
			return nil
		}},
	}
	for _, pooled := range []bool{false, true} {
		for _, tc := range fill {
			name := tc.name + "/fresh"
			if pooled {
				name = tc.name + "/pooled"
			}
			t.Run(name, func(t *testing.T) {
				s := newStore(t, 64<<20)
				if pooled {
					old := NewObjectID()
					if err := s.Put(ctx, old, randBytes(r, size+1000)); err != nil {
						t.Fatal(err)
					}
					if err := s.Delete(old); err != nil {
						t.Fatal(err)
					}
				}
				data := randBytes(r, size)
				id := NewObjectID()
				in, err := s.CreateIngest(ctx, id, size)
				if err != nil {
					t.Fatal(err)
				}
				s.mu.Lock()
				gotPooled := len(s.pool) == 0 && pooled
				s.mu.Unlock()
				if gotPooled != pooled {
					t.Fatalf("pooled destination used: %v, want %v", gotPooled, pooled)
				}
				if err := tc.do(t, in, data); err != nil {
					t.Fatal(err)
				}
				if in.Remaining() != 0 {
					t.Fatalf("%d bytes remaining after filling", in.Remaining())
				}
				if _, err := in.Write([]byte{1}); err == nil {
					t.Fatal("write past the object's size accepted")
				}
				if err := in.Seal(); err != nil {
					t.Fatal(err)
				}
				if got := mustGet(t, s, id); !bytes.Equal(got, data) {
					t.Fatal("ingested object reads back wrong")
				}
				checkAccounting(t, s)
			})
		}
	}
	t.Run("abandoned", func(t *testing.T) {
		// A big fresh object (mapped and populated behind the writer) that
		// stops halfway: Seal refuses it and its memory is released.
		s := newStore(t, 64<<20)
		id := NewObjectID()
		in, err := s.CreateIngest(ctx, id, 8<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Write(randBytes(r, 3<<20+5)); err != nil {
			t.Fatal(err)
		}
		if err := in.Seal(); !errors.Is(err, ErrShortWrite) {
			t.Fatalf("Seal of a half-written object: %v, want ErrShortWrite", err)
		}
		in.Abort() // a no-op after the failed Seal
		if s.Contains(id) || s.Stats().Used != 0 {
			t.Fatalf("half-written object left behind: contains %v, used %d", s.Contains(id), s.Stats().Used)
		}
		checkAccounting(t, s)
	})
	t.Run("short", func(t *testing.T) {
		s := newStore(t, 64<<20)
		id := NewObjectID()
		in, err := s.CreateIngest(ctx, id, 100)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.ReadFrom(bytes.NewReader(make([]byte, 60))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadFrom of a short stream: %v, want io.ErrUnexpectedEOF", err)
		}
		if err := in.Seal(); !errors.Is(err, ErrShortWrite) {
			t.Fatalf("Seal of a short object: %v, want ErrShortWrite", err)
		}
		if s.Contains(id) {
			t.Fatal("short object visible after its failed Seal")
		}
		if st := s.Stats(); st.Used != 0 {
			t.Fatalf("%d bytes still reserved after the failed Seal", st.Used)
		}
		// The ID is free again.
		in, err = s.CreateIngest(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Seal(); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, id); len(got) != 0 {
			t.Fatalf("empty object reads back %d bytes", len(got))
		}
	})
}

// TestSealedMappingIsReadOnly: an object written through a writable mapping is read through
// that same mapping, write-protected, and its memory is writable again once recycled.
func TestSealedMappingIsReadOnly(t *testing.T) {
	s := newStore(t, 64<<20)
	ctx := context.Background()
	const size = 1 << 20
	id := NewObjectID()
	w, err := s.Create(ctx, id, size)
	if err != nil {
		t.Fatal(err)
	}
	w.Bytes()[5] = 42
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Bytes()[5] != 42 {
		t.Fatal("sealed object reads back wrong")
	}
	faulted := func(b []byte) (f bool) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { f = recover() != nil }()
		b[7] = 1
		return false
	}
	if !faulted(o.Bytes()) {
		t.Fatal("writing to a sealed object's view did not fault")
	}
	o.Release()
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	// The memory comes back from the pool writable, to a Create and to an Ingest.
	w, err = s.Create(ctx, NewObjectID(), size)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	pooled := len(s.pool)
	s.mu.Unlock()
	if pooled != 0 {
		t.Fatal("the deleted object's memory was not recycled")
	}
	if faulted(w.Bytes()) {
		t.Fatal("recycled memory is not writable")
	}
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, s)
}
