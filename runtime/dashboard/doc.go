// Package dashboard is goray's web UI: one HTML page, a style sheet and a
// script, embedded in the binary with go:embed and served by Handler.
//
// The page is deliberately small and dependency-free (no Node toolchain,
// no CDN, plain JavaScript and inline SVG) because it ships inside gorayd
// and must work on an air-gapped cluster. It reads only the state API
// (runtime/state, /api/v0/...), the same one `goray list` uses, so
// anything the page shows can be scripted, and it never holds more than
// one page of any list: filtering and paging happen on the server, which
// keeps it responsive with thousands of jobs and actors.
//
// Updates arrive as Server-Sent Events from /api/v0/events, read with
// fetch so the bearer token can travel in a header; each event names the
// kinds of records that changed and the page refetches only the view that
// shows them. When the stream cannot be opened the page falls back to
// polling.
//
// Elements the browser test and users' own scripts rely on carry stable
// data-testid attributes (node-row, job-row with data-state, job-logs-link,
// log-text, learning-curve, ...); docs/state-api.md lists them.
package dashboard
