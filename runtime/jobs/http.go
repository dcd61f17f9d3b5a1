package jobs

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SubmitRequest is the body of POST /api/jobs/.
type SubmitRequest struct {
	// JobFile is the job file's text and JobFilePath the path it was read
	// from (it anchors working_dir and names the file in errors).
	JobFile     string `json:"job_file"`
	JobFilePath string `json:"job_file_path"`
	// WorkingDirPackage is the sha256 of the working dir's archive,
	// uploaded first with PUT /api/packages/{sha256}. When set, the job
	// runs in the unpacked copy and its outputs go to the job's directory
	// on the daemon.
	WorkingDirPackage string `json:"working_dir_package,omitempty"`
	// DriverBinary is the path, inside the package, of the driver built on
	// submit for a Go-package entrypoint.
	DriverBinary string `json:"driver_binary,omitempty"`
}

// ListWarningHeader is the response header of GET /api/jobs/ that names,
// one value each, the peers whose jobs a daemon left out of the cluster's
// list (they did not answer in time). The body stays the plain list, so
// older clients read it unchanged.
const ListWarningHeader = "X-Goray-Job-List-Warning"

// APIError is the body of every error response.
type APIError struct {
	Error string `json:"error"`
}

// Handler serves the job API (Ray's paths, under /api/jobs/). When token is
// not empty every request must carry "Authorization: Bearer <token>".
func Handler(m *Manager, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version": "goray/1", "job_file_version": FormatVersion})
	})
	mux.HandleFunc("POST /api/jobs/", func(w http.ResponseWriter, r *http.Request) {
		var req SubmitRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		path := req.JobFilePath
		if path == "" {
			path = "job.toml"
		}
		abs, _ := filepath.Abs(path)
		var opt ParseOptions
		if req.WorkingDirPackage != "" {
			if !m.HasPackage(req.WorkingDirPackage) {
				writeErr(w, http.StatusBadRequest, "working_dir package "+req.WorkingDirPackage+" is not uploaded: PUT it to /api/packages/ first")
				return
			}
			opt.WorkingDir = m.packageDir(req.WorkingDirPackage)
			abs = filepath.Join(opt.WorkingDir, ".goray", "job.toml")
		}
		spec, err := ParseWith(path, abs, []byte(req.JobFile), opt)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		if req.WorkingDirPackage != "" {
			spec.OutputsInJobDir = true
			spec.WorkingDirPackage = req.WorkingDirPackage
			if req.DriverBinary != "" && spec.Entrypoint != nil {
				bin := filepath.Join(opt.WorkingDir, filepath.FromSlash(req.DriverBinary))
				if rel, err := filepath.Rel(opt.WorkingDir, bin); err != nil || strings.HasPrefix(rel, "..") {
					writeErr(w, http.StatusBadRequest, "driver_binary must be inside the package")
					return
				}
				spec.Entrypoint = &Entrypoint{Binary: bin, Args: spec.Entrypoint.Args}
			}
		}
		info, err := m.Submit(r.Context(), spec)
		var elsewhere *ElsewhereError
		if errors.As(err, &elsewhere) && r.Header.Get(ForwardedHeader) == "" {
			// Another node can hold the driver: the job runs there
			// (forward.go). A forwarded request is never passed on again.
			fi, ferr := m.forwardSubmit(r.Context(), req, r.Header.Get("Authorization"), elsewhere.Nodes)
			if ferr == nil {
				writeJSON(w, http.StatusOK, fi)
				return
			}
			err = fmt.Errorf("%w; %w", err, ferr)
		}
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrImpossibleResources) || errors.Is(err, ErrResourcesElsewhere) {
				status = http.StatusBadRequest // the job file asks too much
			}
			writeErr(w, status, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("HEAD /api/packages/{sum}", func(w http.ResponseWriter, r *http.Request) {
		if !m.HasPackage(r.PathValue("sum")) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("PUT /api/packages/{sum}", func(w http.ResponseWriter, r *http.Request) {
		if err := m.StorePackage(r.PathValue("sum"), http.MaxBytesReader(w, r.Body, MaxPackageBytes+1)); err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"package": r.PathValue("sum")})
	})
	mux.HandleFunc("GET /api/jobs/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.List())
	})
	mux.HandleFunc("GET /api/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := m.Get(r.PathValue("id"))
		if err != nil {
			writeErr(w, http.StatusNotFound, err.Error())
			return
		}
		// ?wait=1 long-polls for the next change (up to 10 s).
		if r.URL.Query().Get("wait") != "" && !info.State.Terminal() {
			if ch, err := m.Changed(info.ID); err == nil {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				case <-r.Context().Done():
				}
			}
			info, _ = m.Get(info.ID)
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /api/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := m.Get(id); err != nil {
			writeErr(w, http.StatusNotFound, err.Error())
			return
		}
		off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		follow := r.URL.Query().Get("follow") != ""
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = m.Logs(r.Context(), id, off, follow, flushWriter{w})
	})
	mux.HandleFunc("POST /api/jobs/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		info, err := m.Stop(ctx, r.PathValue("id"), 5*time.Second)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrJobNotFound) {
				status = http.StatusNotFound
			}
			writeErr(w, status, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("DELETE /api/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		err := m.Delete(r.PathValue("id"))
		switch {
		case errors.Is(err, ErrJobNotFound):
			writeErr(w, http.StatusNotFound, err.Error())
		case errors.Is(err, ErrNotTerminal):
			writeErr(w, http.StatusConflict, err.Error())
		case err != nil:
			writeErr(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
		}
	})
	return RequireToken(token, mux)
}

// RequireToken wraps h so that, when token is set, requests without the
// matching bearer token get 401 with a message that says what is missing.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeErr(w, http.StatusUnauthorized, "this cluster requires a token: pass --token or set GORAY_TOKEN")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeErr(w, http.StatusUnauthorized, "the token was rejected: check --token or GORAY_TOKEN")
			return
		}
		h.ServeHTTP(w, r)
	})
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f flushWriter) Flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, APIError{Error: msg})
}
