package state

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newServer serves a populated MemorySource with token "s3cret".
func newServer(t *testing.T) (*MemorySource, *httptest.Server) {
	t.Helper()
	m := NewMemorySource()
	Populate(m, 1, DemoSize{Nodes: 3, Jobs: 30, Actors: 250, Tasks: 400, Objects: 120, PlacementGroups: 5, Trials: 12}, base)
	srv := httptest.NewServer(Handler(m, "s3cret"))
	t.Cleanup(srv.Close)
	return m, srv
}

func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp, body
}

func getList[T any](t *testing.T, srv *httptest.Server, path string) ListResponse[T] {
	t.Helper()
	resp, body := get(t, srv, path, "s3cret")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var out ListResponse[T]
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return out
}

// checkList checks paging and a filter on one endpoint against the
// source's own answer.
func checkList[T any](t *testing.T, srv *httptest.Server, path, filter string, count func(T) bool) {
	t.Run(path, func(t *testing.T) {
		all := getList[T](t, srv, path+"?limit=10000")
		if len(all.Items) != all.Total || all.Total == 0 {
			t.Fatalf("%s: %d items, total %d", path, len(all.Items), all.Total)
		}
		page := getList[T](t, srv, path+"?limit=3&offset=2")
		if page.Total != all.Total || len(page.Items) != min(3, all.Total-2) || page.Offset != 2 || page.Limit != 3 {
			t.Fatalf("%s page: total %d items %d offset %d limit %d", path, page.Total, len(page.Items), page.Offset, page.Limit)
		}
		a, _ := json.Marshal(all.Items[2:min(5, all.Total)])
		b, _ := json.Marshal(page.Items)
		if string(a) != string(b) {
			t.Fatalf("%s: page 2..5 differs from the full list", path)
		}
		want := 0
		for _, it := range all.Items {
			if count(it) {
				want++
			}
		}
		f := getList[T](t, srv, path+"?"+filter)
		if f.Total != want || want == 0 || want == all.Total {
			t.Fatalf("%s?%s: total %d, want %d of %d (the fixture must make the filter meaningful)", path, filter, f.Total, want, all.Total)
		}
		for _, it := range f.Items {
			if !count(it) {
				t.Fatalf("%s?%s returned a non-matching item %+v", path, filter, it)
			}
		}
		resp, body := get(t, srv, path+"?no_such_field=1", "s3cret")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no_such_field") {
			t.Fatalf("unknown filter: %d %s", resp.StatusCode, body)
		}
	})
}

func TestListEndpoints(t *testing.T) {
	_, srv := newServer(t)
	checkList(t, srv, "/api/v0/nodes", "is_head=true", func(n NodeState) bool { return n.IsHead })
	checkList(t, srv, "/api/v0/actors", "state=ALIVE", func(a ActorState) bool { return a.State == "ALIVE" })
	checkList(t, srv, "/api/v0/tasks", "state=FAILED", func(x TaskState) bool { return x.State == TaskFailed })
	checkList(t, srv, "/api/v0/objects", "spilled=true", func(o ObjectState) bool { return o.Spilled })
	checkList(t, srv, "/api/v0/jobs", "status=!SUCCEEDED", func(j JobState) bool { return j.State != jobs.Succeeded })
	checkList(t, srv, "/api/v0/trials", "status=RUNNING", func(x TrialState) bool { return x.Status == "RUNNING" })
	checkList(t, srv, "/api/v0/placement_groups", "name=pg-3", func(p PlacementGroupState) bool { return p.Name == "pg-3" })
}

func TestDefaultLimitAndBadPaging(t *testing.T) {
	_, srv := newServer(t)
	l := getList[ActorState](t, srv, "/api/v0/actors")
	if l.Limit != DefaultLimit || len(l.Items) != DefaultLimit || l.Total != 250 {
		t.Fatalf("default page: limit %d items %d total %d", l.Limit, len(l.Items), l.Total)
	}
	for _, p := range []string{"/api/v0/actors?limit=-1", "/api/v0/actors?offset=x", "/api/v0/tasks?limit=20000", "/api/v0/logs?job=x&offset=-5"} {
		if resp, body := get(t, srv, p, "s3cret"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", p, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, srv, "/api/v0/widgets", "s3cret"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", resp.StatusCode)
	}
}

func TestTokenRequired(t *testing.T) {
	_, srv := newServer(t)
	for _, p := range []string{"/api/v0/nodes", "/api/v0/jobs", "/api/v0/tasks/summary", "/api/v0/curves/x", "/api/v0/logs?job=x", "/api/v0/events"} {
		for _, tok := range []string{"", "wrong"} {
			resp, body := get(t, srv, p, tok)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "token") {
				t.Errorf("%s with token %q: %d %s", p, tok, resp.StatusCode, body)
			}
		}
	}
	open := httptest.NewServer(Handler(NewMemorySource(), ""))
	defer open.Close()
	if resp, body := get(t, open, "/api/v0/nodes", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("no token configured: %d %s", resp.StatusCode, body)
	}
}

func TestTaskSummary(t *testing.T) {
	m, srv := newServer(t)
	resp, body := get(t, srv, "/api/v0/tasks/summary", "s3cret")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var s TaskSummary
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	failed, _ := m.Tasks(t.Context(), Query{Filters: map[string]string{"state": TaskFailed}})
	if s.Total != 400 || s.ByState[TaskFailed] != failed.Total || s.FailuresTotal != failed.Total {
		t.Fatalf("summary %+v; %d failed", s.ByState, failed.Total)
	}
	sum := 0
	for i, f := range s.ByFunction {
		sum += f.Total
		if i > 0 && f.Total > s.ByFunction[i-1].Total {
			t.Fatalf("by_function not sorted: %+v", s.ByFunction)
		}
	}
	if sum != s.Total || len(s.Failures) != min(20, failed.Total) || s.Failures[0].Error == "" {
		t.Fatalf("by_function sums to %d of %d; %d failures", sum, s.Total, len(s.Failures))
	}
	// Filters apply to the summary.
	fn := s.ByFunction[0]
	_, body = get(t, srv, "/api/v0/tasks/summary?name="+fn.Name, "s3cret")
	var one TaskSummary
	_ = json.Unmarshal(body, &one)
	if one.Total != fn.Total || len(one.ByFunction) != 1 {
		t.Fatalf("summary for %s: %+v", fn.Name, one)
	}
}

func TestCurve(t *testing.T) {
	m, srv := newServer(t)
	for i := 1; i <= 3; i++ {
		m.AddCurvePoint(CurvePoint{Job: "j1", Iteration: i, Timesteps: int64(4000 * i), Reward: float64(10 * i)})
	}
	m.AddCurvePoint(CurvePoint{Job: "j2", Iteration: 1})
	_, body := get(t, srv, "/api/v0/curves/j1", "s3cret")
	var c CurveResponse
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Job != "j1" || len(c.Points) != 3 || c.Points[2].Timesteps != 12000 || c.Points[2].Reward != 30 {
		t.Fatalf("curve: %+v", c)
	}
	_, body = get(t, srv, "/api/v0/curves/none", "s3cret")
	if !strings.Contains(string(body), `"points":[]`) {
		t.Fatalf("empty curve: %s", body)
	}
}

func TestLogs(t *testing.T) {
	m, srv := newServer(t)
	m.AppendLog(LogQuery{Node: "node-00", Job: "j1"}, "line one\nline two\n")
	m.AppendLog(LogQuery{Node: "node-01", Worker: "w7"}, "worker says hi\n")
	m.AppendLog(LogQuery{Node: "node-01"}, "daemon log\n")
	m.CloseLog(LogQuery{Node: "node-02", Worker: "w-silent"})
	cases := []struct{ path, want string }{
		{"/api/v0/logs?worker=w-silent&follow=1", ""},
		{"/api/v0/logs?job=j1", "line one\nline two\n"},
		{"/api/v0/logs?job=j1&offset=9", "line two\n"},
		{"/api/v0/logs?node=node-00&job=j1", "line one\nline two\n"},
		{"/api/v0/logs?worker=w7", "worker says hi\n"},
		{"/api/v0/logs?node=node-01", "daemon log\n"},
	}
	for _, c := range cases {
		resp, body := get(t, srv, c.path, "s3cret")
		if resp.StatusCode != 200 || string(body) != c.want {
			t.Errorf("%s: %d %q, want %q", c.path, resp.StatusCode, body, c.want)
		}
	}
	for path, code := range map[string]int{"/api/v0/logs?job=nope": 404, "/api/v0/logs?node=node-02&job=j1": 404, "/api/v0/logs": 400} {
		if resp, body := get(t, srv, path, "s3cret"); resp.StatusCode != code {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, body, code)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	m, srv := newServer(t)
	key := LogQuery{Node: "node-00", Job: "j1"}
	m.AppendLog(key, "first\n")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v0/logs?job=j1&follow=1", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	// The follower must see a line appended after it connected...
	m.AppendLog(key, "second\n")
	if line, err = rd.ReadString('\n'); err != nil || line != "second\n" {
		t.Fatalf("followed line %q %v", line, err)
	}
	// ...and the stream must end when the log is closed.
	m.AppendLog(key, "last\n")
	m.CloseLog(key)
	rest, err := io.ReadAll(rd)
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("rest %q %v", rest, err)
	}
}

// sseReader reads Server-Sent Events.
type sseReader struct{ rd *bufio.Reader }

func (s sseReader) next() (name string, c Change, err error) {
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return "", c, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, c, nil
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[len("data: "):]), &c); err != nil {
				return "", c, fmt.Errorf("bad data %q: %w", line, err)
			}
		}
	}
}

func openEvents(t *testing.T, srv *httptest.Server, query string) sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v0/events"+query, nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, ct)
	}
	return sseReader{bufio.NewReader(resp.Body)}
}

func TestEventsOnChange(t *testing.T) {
	m, srv := newServer(t)
	ev := openEvents(t, srv, "")
	name, first, err := ev.next()
	if err != nil || name != "state" || first.Version == 0 {
		t.Fatalf("first event %q %+v %v", name, first, err)
	}
	m.PutJob(JobState{ID: "new", State: jobs.Running})
	name, c, err := ev.next()
	if err != nil || name != "change" || c.Version <= first.Version || fmt.Sprint(c.Kinds) != "[jobs]" {
		t.Fatalf("after PutJob: %q %+v %v", name, c, err)
	}
	// A burst of changes of two kinds is reported (possibly coalesced)
	// with both kinds before the version passes the last change.
	m.PutNode(NodeState{ID: "node-09", State: NodeAlive})
	m.AddCurvePoint(CurvePoint{Job: "new", Iteration: 1})
	seen := map[string]bool{}
	for !seen[KindNodes] || !seen[KindCurves] {
		_, c, err = ev.next()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range c.Kinds {
			seen[k] = true
		}
	}
	// A client resuming from an old version hears what it missed at once.
	ev2 := openEvents(t, srv, fmt.Sprintf("?since=%d", first.Version))
	name, c, err = ev2.next()
	if err != nil || name != "change" || len(c.Kinds) != 3 {
		t.Fatalf("resumed: %q %+v %v", name, c, err)
	}
}

func TestWatchReturnsOnContextEnd(t *testing.T) {
	m := NewMemorySource()
	m.PutJob(JobState{ID: "a"})
	c, err := m.Watch(t.Context(), 0)
	if err != nil || c.Version != 1 {
		t.Fatalf("Watch(0): %+v %v", c, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Watch(ctx, c.Version); err != context.Canceled {
		t.Fatalf("Watch on a cancelled context: %v", err)
	}
}

func TestDownsample(t *testing.T) {
	var one, two []CurvePoint
	for i := range 1000 {
		one = append(one, CurvePoint{Iteration: i, Timesteps: int64(i)})
		two = append(two, CurvePoint{Trial: "a", Iteration: i}, CurvePoint{Trial: "b", Iteration: i})
	}
	got := Downsample(one, 10)
	if len(got) != 10 || got[0].Iteration != 0 || got[9].Iteration != 999 {
		t.Fatalf("single series: %d points, first %d last %d", len(got), got[0].Iteration, got[len(got)-1].Iteration)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Iteration <= got[i-1].Iteration {
			t.Fatalf("order lost: %v", got)
		}
	}
	got = Downsample(two, 10)
	last := map[string]int{}
	count := map[string]int{}
	for _, p := range got {
		last[p.Trial] = p.Iteration
		count[p.Trial]++
	}
	if count["a"] != 5 || count["b"] != 5 || last["a"] != 999 || last["b"] != 999 {
		t.Fatalf("two trials: counts %v, last %v", count, last)
	}
	if len(Downsample(one[:5], 10)) != 5 {
		t.Fatal("a short curve must be kept whole")
	}
}

func TestCurveMaxPoints(t *testing.T) {
	m, srv := newServer(t)
	for i := range 50 {
		m.AddCurvePoint(CurvePoint{Job: "long", Iteration: i + 1, Timesteps: int64(100 * i)})
	}
	_, body := get(t, srv, "/api/v0/curves/long?max_points=5", "s3cret")
	var c CurveResponse
	if err := json.Unmarshal(body, &c); err != nil || len(c.Points) != 5 || c.Points[4].Iteration != 50 {
		t.Fatalf("max_points=5: %s", body)
	}
	if resp, _ := get(t, srv, "/api/v0/curves/long?max_points=1", "s3cret"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("max_points=1: %d", resp.StatusCode)
	}
}
