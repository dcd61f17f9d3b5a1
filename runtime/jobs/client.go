package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrUnauthorized is returned when the cluster rejects the token.
var ErrUnauthorized = errors.New("unauthorized")

// ErrUnreachable is returned when the cluster address does not answer.
var ErrUnreachable = errors.New("cluster unreachable")

// Client talks to a cluster's job API.
type Client struct {
	// Base is the HTTP API's base URL, such as http://127.0.0.1:8265.
	Base  string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for address ("host:port" or a URL). Connection
// attempts time out after a few seconds so an unreachable address is
// reported quickly.
func NewClient(address, token string) (*Client, error) {
	base := address
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad cluster address %q: want host:port or http://host:port", address)
	}
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, ResponseHeaderTimeout: 0}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Transport: tr}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	resp, err := c.send(ctx, method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *Client) send(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, c.Base, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e APIError
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("%w (401): %s", ErrUnauthorized, e.Error)
		}
		// The server's message already starts with the sentinel's text.
		switch resp.StatusCode {
		case http.StatusNotFound:
			return nil, fmt.Errorf("%w: %s", ErrJobNotFound, strings.TrimPrefix(e.Error, ErrJobNotFound.Error()+": "))
		case http.StatusConflict:
			return nil, fmt.Errorf("%w: %s", ErrNotTerminal, strings.TrimPrefix(e.Error, ErrNotTerminal.Error()+": "))
		}
		for _, sentinel := range []error{ErrImpossibleResources, ErrResourcesElsewhere} {
			if resp.StatusCode == http.StatusBadRequest && strings.Contains(e.Error, sentinel.Error()) {
				// The server's message names the file, line and field:
				// shown as it is, and still matched by errors.Is.
				return nil, &serverError{msg: e.Error, err: sentinel}
			}
		}
		return nil, fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, e.Error)
	}
	return resp, nil
}

// Submit uploads the job's working dir (content-addressed: an unchanged
// tree is not sent again) and submits the job file. A Go-package
// entrypoint is built here first, as `goray submit` promises, and its
// binary travels inside the package, so the cluster needs no Go toolchain.
func (c *Client) Submit(ctx context.Context, spec *Spec) (Info, error) {
	if err := c.preflightResources(ctx, spec); err != nil {
		return Info{}, err
	}
	if spec.WorkingDir == "" { // a spec that never went through Parse
		var info Info
		err := c.do(ctx, http.MethodPost, "/api/jobs/", SubmitRequest{JobFile: string(spec.Source), JobFilePath: spec.Path}, &info)
		return info, err
	}
	extra := map[string]string{}
	tmp, err := os.MkdirTemp("", "goray-submit-")
	if err != nil {
		return Info{}, err
	}
	defer os.RemoveAll(tmp)
	jobFile := filepath.Join(tmp, "job.toml")
	if err := os.WriteFile(jobFile, spec.Source, 0o644); err != nil {
		return Info{}, err
	}
	extra[".goray/job.toml"] = jobFile
	req := SubmitRequest{JobFile: string(spec.Source), JobFilePath: spec.Path}
	if spec.Entrypoint != nil && spec.Entrypoint.Package != "" {
		bin := filepath.Join(tmp, "driver")
		build := spec.BuildCommand(ctx, bin)
		var out bytes.Buffer
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			return Info{}, fmt.Errorf("%s: entrypoint.package: go build %s: %w\n%s", spec.Path, spec.Entrypoint.Package, err, out.String())
		}
		extra[DriverPath] = bin
		req.DriverBinary = DriverPath
	}
	data, sum, err := PackDir(ctx, spec.WorkingDir, extra)
	if err != nil {
		return Info{}, err
	}
	if err := c.upload(ctx, sum, data); err != nil {
		return Info{}, err
	}
	req.WorkingDirPackage = sum
	var info Info
	err = c.do(ctx, http.MethodPost, "/api/jobs/", req, &info)
	return info, err
}

// upload sends a working-dir package unless the cluster has it already.
func (c *Client) upload(ctx context.Context, sum string, data []byte) error {
	resp, err := c.send(ctx, http.MethodHead, "/api/packages/"+sum, nil)
	if err == nil {
		resp.Body.Close()
		return nil
	}
	if !errors.Is(err, ErrJobNotFound) {
		return err
	}
	resp, err = c.send(ctx, http.MethodPut, "/api/packages/"+sum, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("upload working_dir: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Get returns a job's record; with wait it long-polls for the next change.
func (c *Client) Get(ctx context.Context, id string, wait bool) (Info, error) {
	var info Info
	p := "/api/jobs/" + url.PathEscape(id)
	if wait {
		p += "?wait=1"
	}
	err := c.do(ctx, http.MethodGet, p, nil, &info)
	return info, err
}

// List returns the cluster's jobs, oldest submission first: a daemon
// lists its peers' jobs too (each Info's NodeID names the node that runs
// it). Peers left out are dropped silently; ListWithWarnings says which.
func (c *Client) List(ctx context.Context) ([]Info, error) {
	out, _, err := c.ListWithWarnings(ctx)
	return out, err
}

// ListWithWarnings is List, plus one warning per peer whose jobs the
// daemon had to leave out (it did not answer in time).
func (c *Client) ListWithWarnings(ctx context.Context) ([]Info, []string, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/jobs/", nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var out []Info
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, nil, fmt.Errorf("job list from %s: %w", c.Base, err)
	}
	return out, resp.Header.Values(ListWarningHeader), nil
}

// Stop stops a job and returns its final record.
func (c *Client) Stop(ctx context.Context, id string) (Info, error) {
	var info Info
	err := c.do(ctx, http.MethodPost, "/api/jobs/"+url.PathEscape(id)+"/stop", nil, &info)
	return info, err
}

// Delete deletes a finished job; a running one gives ErrNotTerminal.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/jobs/"+url.PathEscape(id), nil, nil)
}

// Logs copies the job's log from offset to w; with follow it streams until
// the job ends.
func (c *Client) Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error) {
	p := "/api/jobs/" + url.PathEscape(id) + "/logs?offset=" + strconv.FormatInt(off, 10)
	if follow {
		p += "&follow=1"
	}
	resp, err := c.send(ctx, http.MethodGet, p, nil)
	if err != nil {
		return off, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	return off + n, err
}

// serverError is an error message from the job API that wraps one of this
// package's sentinels.
type serverError struct {
	msg string
	err error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }
