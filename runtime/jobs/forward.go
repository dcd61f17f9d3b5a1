package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ForwardedHeader marks a job request one daemon passed to another, so
// that the receiver answers from its own jobs and passes nothing on (the
// daemon's peer lookups use the same header).
const ForwardedHeader = "X-Goray-Job-Forwarded"

// ErrForward wraps the failure to pass a submission to a peer that could
// run its driver.
var ErrForward = errors.New("cannot pass the job to a node that can run its driver")

// forwardSubmit passes a submission whose driver this node cannot hold to
// one of the nodes that can (tried in order): it gives the peer the job's
// working-dir package from this node's store unless the peer has it, then
// posts the same request, marked as forwarded, with the caller's token.
// The job then runs on, and is recorded by, that peer; its record comes
// back with NodeID naming it. Any daemon answers for it afterwards.
func (m *Manager) forwardSubmit(ctx context.Context, req SubmitRequest, auth string, to []NodeResources) (Info, error) {
	var errs []error
	for _, n := range to {
		if n.Self || n.Addr == "" {
			continue
		}
		info, err := m.forwardTo(ctx, n, req, auth)
		if err == nil {
			info.NodeID = n.ID
			m.log.Info("job passed to a node that can hold its driver", "name", info.Name, "job", info.ID, "node", n.label())
			return info, nil
		}
		if ctx.Err() != nil {
			return Info{}, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", n.label(), err))
	}
	if len(errs) == 0 {
		return Info{}, fmt.Errorf("%w: no such node has a job API address", ErrForward)
	}
	return Info{}, fmt.Errorf("%w: %w", ErrForward, errors.Join(errs...))
}

// forwardCallTimeout bounds each small request to a peer (the package
// check, the submission): a peer that the membership still lists but that
// stalled accepts the connection and never answers, and the next peer
// must get its turn. The package upload gets more, by its size
// (forwardUploadTimeout).
var forwardCallTimeout = 10 * time.Second // a var: tests shorten it

// forwardUploadTimeout allows a package upload of size bytes at 10 MB/s
// or better, and never less than forwardCallTimeout.
func forwardUploadTimeout(size int64) time.Duration {
	return forwardCallTimeout + time.Duration(size/10e6)*time.Second
}

func (m *Manager) forwardTo(ctx context.Context, n NodeResources, req SubmitRequest, auth string) (Info, error) {
	base := "http://" + n.Addr
	// do sends one request under its own deadline; the caller reads the
	// answer, then calls done.
	do := func(timeout time.Duration, method, path string, body io.Reader) (resp *http.Response, done func(), err error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		r, err := http.NewRequestWithContext(rctx, method, base+path, body)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		r.Header.Set(ForwardedHeader, "1")
		resp, err = http.DefaultClient.Do(r)
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		return resp, func() { resp.Body.Close(); cancel() }, nil
	}
	if sum := req.WorkingDirPackage; sum != "" {
		resp, done, err := do(forwardCallTimeout, http.MethodHead, "/api/packages/"+url.PathEscape(sum), nil)
		if err != nil {
			return Info{}, err
		}
		done()
		if resp.StatusCode == http.StatusNotFound {
			f, err := os.Open(m.packageStore().ArchivePath(sum))
			if err != nil {
				return Info{}, fmt.Errorf("working_dir package %s: %w", sum, err)
			}
			var size int64
			if st, err := f.Stat(); err == nil {
				size = st.Size()
			}
			resp, done, err := do(forwardUploadTimeout(size), http.MethodPut, "/api/packages/"+url.PathEscape(sum), f)
			f.Close()
			if err != nil {
				return Info{}, err
			}
			err = answerErr(resp)
			done()
			if err != nil {
				return Info{}, fmt.Errorf("upload working_dir package: %w", err)
			}
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Info{}, err
	}
	resp, done, err := do(forwardCallTimeout, http.MethodPost, "/api/jobs/", bytes.NewReader(body))
	if err != nil {
		return Info{}, err
	}
	defer done()
	if err := answerErr(resp); err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return Info{}, fmt.Errorf("the peer's answer: %w", err)
	}
	return info, nil
}

// answerErr turns a non-2xx answer of the job API into an error with its
// message, closing the body.
func answerErr(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	defer resp.Body.Close()
	var e APIError
	if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
		e.Error = resp.Status
	}
	return fmt.Errorf("%d: %s", resp.StatusCode, strings.TrimSpace(e.Error))
}
