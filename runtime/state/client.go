package state

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// Client reads a cluster's state API; `goray list` and `goray logs` use
// it. Errors wrap jobs.ErrUnauthorized (401), jobs.ErrUnreachable (no
// answer), ErrBadQuery (400) and ErrNotFound (404), so callers can tell a
// wrong token from a wrong filter with errors.Is.
type Client struct {
	// Base is the HTTP API's base URL, such as http://127.0.0.1:8265.
	Base string
	// Token is sent as a bearer token; empty sends none.
	Token string
	// HTTP does the requests; NewClient's times out dialing, not reading,
	// so that followed logs can stream for as long as they last.
	HTTP *http.Client
}

// NewClient returns a client for address ("host:port" or a URL).
func NewClient(address, token string) (*Client, error) {
	base := address
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad cluster address %q: want host:port or http://host:port", address)
	}
	// Connecting times out quickly so a wrong address is reported at once;
	// the response itself may stream for as long as a log is followed.
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Transport: tr}}, nil
}

func (c *Client) get(ctx context.Context, path string, params url.Values) (*http.Response, error) {
	u := c.Base + "/api/v0" + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("state API request %s: %w", path, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", jobs.ErrUnreachable, c.Base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e ErrorResponse
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("%w (401): %s", jobs.ErrUnauthorized, e.Error)
	case http.StatusBadRequest:
		// The server's message already starts with "bad query: ".
		return nil, fmt.Errorf("%w: %s", ErrBadQuery, strings.TrimPrefix(e.Error, ErrBadQuery.Error()+": "))
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: GET %s: %s", ErrNotFound, path, e.Error)
	}
	return nil, fmt.Errorf("GET %s: %d: %s", path, resp.StatusCode, e.Error)
}

func (c *Client) getJSON(ctx context.Context, path string, params url.Values, out any) error {
	resp, err := c.get(ctx, path, params)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// List fetches one page of the list at path ("/nodes", "/actors", ...).
func List[T any](ctx context.Context, c *Client, path string, q Query) (ListResponse[T], error) {
	var out ListResponse[T]
	err := c.getJSON(ctx, path, q.Encode(), &out)
	return out, err
}

// TaskSummary fetches /tasks/summary for the tasks matching q's filters.
func (c *Client) TaskSummary(ctx context.Context, q Query) (TaskSummary, error) {
	var out TaskSummary
	err := c.getJSON(ctx, "/tasks/summary", q.Encode(), &out)
	return out, err
}

// Curve fetches a job's learning curve.
func (c *Client) Curve(ctx context.Context, job string) ([]CurvePoint, error) {
	var out CurveResponse
	err := c.getJSON(ctx, "/curves/"+url.PathEscape(job), nil, &out)
	return out.Points, err
}

// Logs copies the selected log to w from q.Offset (following it with
// q.Follow) and returns the offset after the last byte copied. Cancelling
// ctx ends a follow without an error.
func (c *Client) Logs(ctx context.Context, q LogQuery, w io.Writer) (int64, error) {
	v := url.Values{}
	for k, s := range map[string]string{"node": q.Node, "job": q.Job, "worker": q.Worker} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Offset != 0 {
		v.Set("offset", strconv.FormatInt(q.Offset, 10))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	resp, err := c.get(ctx, "/logs", v)
	if err != nil {
		return q.Offset, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil && ctx.Err() != nil {
		err = nil
	}
	return q.Offset + n, err
}
