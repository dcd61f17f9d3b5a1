package resolve_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/agent/resolve"
)

func TestEngineAddressesPassThrough(t *testing.T) {
	for _, a := range []string{"unix:///tmp/x/node.sock", "tcp://10.0.0.1:7000", "/tmp/x/node.sock"} {
		got, err := resolve.Driver(context.Background(), a, "")
		if err != nil || got != a {
			t.Errorf("Driver(%q) = %q, %v; want it unchanged", a, got, err)
		}
	}
}

func daemon(t *testing.T, token string, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"unauthorized: this gorayd requires a bearer token"}`))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHTTPAddressResolves(t *testing.T) {
	top := daemon(t, "", `{"self":"a","driver_address":"unix:///d/node.sock","nodes":[]}`)
	perNode := daemon(t, "", `{"self":"a","nodes":[{"is_self":false,"driver_address":""},{"is_self":true,"driver_address":"unix:///e/node.sock"}]}`)
	tok := daemon(t, "s3cret", `{"driver_address":"unix:///f/node.sock"}`)
	tests := []struct {
		name, addr, token, want string
	}{
		{"url", top, "", "unix:///d/node.sock"},
		{"host:port", strings.TrimPrefix(top, "http://"), "", "unix:///d/node.sock"},
		{"self entry", perNode, "", "unix:///e/node.sock"},
		{"token", tok, "s3cret", "unix:///f/node.sock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolve.Driver(context.Background(), tc.addr, tc.token)
			if err != nil || got != tc.want {
				t.Fatalf("Driver(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tok := daemon(t, "s3cret", `{}`)
	none := daemon(t, "", `{"self":"a","nodes":[{"is_self":true}]}`)
	// A listener that never answers HTTP: the lookup must give up by itself.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	tests := []struct {
		name, addr, token string
		want              error
		msg               string
	}{
		{"wrong token", tok, "nope", resolve.ErrUnauthorized, "401"},
		{"no token", tok, "", resolve.ErrUnauthorized, "bearer token"},
		{"no engine", none, "", resolve.ErrNoDriverAddress, none},
		{"refused", closedAddr, "", resolve.ErrUnreachable, closedAddr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve.Driver(context.Background(), tc.addr, tc.token)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Driver(%q) error %v; want %v mentioning %q", tc.addr, err, tc.want, tc.msg)
			}
		})
	}
	t.Run("silent server times out", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := resolve.Driver(ctx, ln.Addr().String(), "")
		if !errors.Is(err, resolve.ErrUnreachable) || time.Since(start) > 3*time.Second {
			t.Fatalf("error %v after %v; want ErrUnreachable promptly", err, time.Since(start))
		}
	})
	t.Run("bad scheme", func(t *testing.T) {
		if _, err := resolve.Driver(context.Background(), "ftp://x", ""); err == nil || !strings.Contains(err.Error(), "want unix://") {
			t.Fatalf("error %v", err)
		}
	})
}
