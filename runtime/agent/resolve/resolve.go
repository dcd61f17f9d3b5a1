// Package resolve turns the address a user gives a driver (GORAY_ADDRESS or
// goray.Config.Address) into the address of the engine to connect to.
//
// Users know a cluster by its daemon's HTTP address, the one `goray status`
// and `goray submit --address` take ("127.0.0.1:8265", "http://host:8265").
// A driver, though, talks to the node's own socket. Driver resolves an HTTP
// address by asking the daemon (GET /v1/nodes, which lists its
// driver_address), and passes engine addresses (unix://, tcp://, a socket
// path) through unchanged, so one variable works for the CLI and for a
// driver started by hand on the daemon's machine.
//
// It imports only the standard library, so the public goray package can
// use it without linking the daemon.
package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Errors of Driver.
var (
	// ErrUnreachable: the daemon's HTTP API did not answer.
	ErrUnreachable = errors.New("gorayd unreachable")
	// ErrUnauthorized: the daemon rejected the token (HTTP 401).
	ErrUnauthorized = errors.New("gorayd rejected the token")
	// ErrNoDriverAddress: the daemon answered but runs no engine that
	// takes drivers (an agent without a node, or an older gorayd).
	ErrNoDriverAddress = errors.New("gorayd reports no driver address")
)

// Timeout bounds the lookup when ctx has no earlier deadline, so that a
// wrong address fails within seconds.
const Timeout = 5 * time.Second

// IsEngineAddress reports whether addr already names an engine socket:
// "unix://...", "tcp://..." or an absolute path.
func IsEngineAddress(addr string) bool {
	return strings.HasPrefix(addr, "unix://") || strings.HasPrefix(addr, "tcp://") || strings.HasPrefix(addr, "/")
}

// nodesBody is the part of /v1/nodes the lookup needs.
type nodesBody struct {
	DriverAddress string `json:"driver_address"`
	Nodes         []struct {
		IsSelf        bool   `json:"is_self"`
		DriverAddress string `json:"driver_address"`
	} `json:"nodes"`
}

// apiError is the daemon's JSON error body.
type apiError struct {
	Error string `json:"error"`
}

// Driver returns the engine address for addr. Engine addresses come back
// as they are; anything else ("host:port", "http://host:port",
// "https://...") is a daemon's HTTP address, looked up with token (sent as a
// bearer token when not empty; GORAY_TOKEN by convention).
func Driver(ctx context.Context, addr, token string) (string, error) {
	if IsEngineAddress(addr) {
		return addr, nil
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return "", fmt.Errorf("resolve %q: want unix://, tcp://, a socket path, host:port or http(s)://host:port", addr)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/v1/nodes", nil)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", addr, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return "", fmt.Errorf("%w (401) at %s: %s", ErrUnauthorized, addr, msg)
		}
		return "", fmt.Errorf("resolve %s: GET /v1/nodes: %s: %s", addr, resp.Status, msg)
	}
	var body nodesBody
	if err := json.Unmarshal(data, &body); err != nil {
		return "", fmt.Errorf("resolve %s: GET /v1/nodes: %w", addr, err)
	}
	da := body.DriverAddress
	for _, n := range body.Nodes {
		if da == "" && n.IsSelf {
			da = n.DriverAddress
		}
	}
	if da == "" {
		return "", fmt.Errorf("%w: %s", ErrNoDriverAddress, addr)
	}
	return da, nil
}
