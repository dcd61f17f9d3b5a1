package state

import (
	"errors"
	"fmt"
	"testing"
)

type rec struct {
	ID    string  `json:"id"`
	State string  `json:"state"`
	N     int     `json:"n"`
	F     float64 `json:"f"`
	B     bool    `json:"b"`
	P     *int    `json:"p,omitempty"`
	Skip  string  `json:"-"`
	M     map[string]int
}

func ids[T any](p Page[T], key func(T) string) []string {
	out := []string{}
	for _, r := range p.Items {
		out = append(out, key(r))
	}
	return out
}

func TestTableList(t *testing.T) {
	seven := 7
	tb := NewTable(func(r rec) string { return r.ID })
	tb.Put(rec{ID: "a", State: "ALIVE", N: 1, F: 0.5, B: true, P: &seven})
	tb.Put(rec{ID: "b", State: "DEAD", N: 2, F: 1})
	tb.Put(rec{ID: "c", State: "ALIVE", N: 3, F: 1.5, B: true})
	tb.Put(rec{ID: "b", State: "ALIVE", N: 2, F: 1}) // replace in place

	key := func(r rec) string { return r.ID }
	tests := []struct {
		name  string
		q     Query
		want  []string
		total int
	}{
		{"all", Query{}, []string{"a", "b", "c"}, 3},
		{"limit", Query{Limit: 2}, []string{"a", "b"}, 3},
		{"offset", Query{Limit: 2, Offset: 2}, []string{"c"}, 3},
		{"offset past end", Query{Offset: 5}, []string{}, 3},
		{"string filter case-insensitive", Query{Filters: map[string]string{"state": "alive"}}, []string{"a", "b", "c"}, 3},
		{"int filter", Query{Filters: map[string]string{"n": "2"}}, []string{"b"}, 1},
		{"float filter", Query{Filters: map[string]string{"f": "1.5"}}, []string{"c"}, 1},
		{"int matches float text", Query{Filters: map[string]string{"n": "3.0"}}, []string{"c"}, 1},
		{"bool filter", Query{Filters: map[string]string{"b": "true"}}, []string{"a", "c"}, 2},
		{"negated", Query{Filters: map[string]string{"id": "!b"}}, []string{"a", "c"}, 2},
		{"pointer set", Query{Filters: map[string]string{"p": "7"}}, []string{"a"}, 1},
		{"two filters", Query{Filters: map[string]string{"b": "true", "n": "!1"}}, []string{"c"}, 1},
		{"filter and page", Query{Filters: map[string]string{"b": "true"}, Limit: 1, Offset: 1}, []string{"c"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tb.List(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p, key); fmt.Sprint(got) != fmt.Sprint(tc.want) || p.Total != tc.total {
				t.Fatalf("got %v total %d, want %v total %d", got, p.Total, tc.want, tc.total)
			}
		})
	}
}

func TestTableBadQueries(t *testing.T) {
	tb := NewTable(func(r rec) string { return r.ID })
	for _, q := range []Query{
		{Filters: map[string]string{"nope": "x"}},
		{Filters: map[string]string{"M": "x"}}, // maps are not filterable
		{Filters: map[string]string{"Skip": "x"}},
		{Filters: map[string]string{"n": "many"}},
		{Limit: -1},
		{Limit: MaxLimit + 1},
		{Offset: -3},
	} {
		if _, err := tb.List(q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("List(%+v) = %v, want ErrBadQuery", q, err)
		}
	}
}

func TestTableNewestFirstDeleteReplace(t *testing.T) {
	tb := NewTable(func(r rec) string { return r.ID }, NewestFirst())
	for _, id := range []string{"a", "b", "c", "d"} {
		tb.Put(rec{ID: id})
	}
	key := func(r rec) string { return r.ID }
	p, _ := tb.List(Query{})
	if got := fmt.Sprint(ids(p, key)); got != "[d c b a]" {
		t.Fatalf("newest first: %s", got)
	}
	if !tb.Delete("b") || tb.Delete("b") {
		t.Fatal("Delete should report presence once")
	}
	if _, ok := tb.Get("c"); !ok {
		t.Fatal("c lost its index after deleting b")
	}
	tb.Put(rec{ID: "c", N: 9})
	p, _ = tb.List(Query{})
	if got := fmt.Sprint(ids(p, key)); got != "[d c a]" || p.Items[1].N != 9 {
		t.Fatalf("after delete and replace: %s %+v", got, p.Items)
	}
	tb.Replace([]rec{{ID: "x"}, {ID: "y"}, {ID: "x", N: 1}})
	if tb.Len() != 2 {
		t.Fatalf("Replace with a duplicate key: len %d", tb.Len())
	}
	if r, _ := tb.Get("x"); r.N != 1 {
		t.Fatalf("Replace kept the first duplicate: %+v", r)
	}
}

func TestParseQueryRoundTrip(t *testing.T) {
	q := Query{Filters: map[string]string{"state": "ALIVE", "job_id": "j1"}, Limit: 20, Offset: 40}
	got, err := ParseQuery(q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(q) {
		t.Fatalf("round trip: %+v != %+v", got, q)
	}
	v := q.Encode()
	v.Set("limit", "ten")
	if _, err := ParseQuery(v); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("limit=ten: %v", err)
	}
	v = q.Encode()
	v.Add("state", "DEAD")
	if _, err := ParseQuery(v); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("repeated filter: %v", err)
	}
}

func TestJobFieldsAreFilterable(t *testing.T) {
	tb := NewTable(func(j JobState) string { return j.ID })
	for _, f := range []string{"job_id", "status", "kind", "name", "driver_pid", "exit_code"} {
		if _, ok := tb.fields[f]; !ok {
			t.Errorf("jobs cannot be filtered by %q; fields: %v", f, tb.Fields())
		}
	}
}

// A snapshot that names one record twice is stored once, and the same
// snapshot again is no change (it was one on every refresh).
func TestSetTasksWithARepeatedIDSettles(t *testing.T) {
	m := NewMemorySource()
	ts := []TaskState{{ID: "a", State: "FINISHED"}, {ID: "b", State: "FINISHED"}, {ID: "a", State: "RUNNING"}}
	if !m.SetTasks(ts) {
		t.Fatal("the first snapshot is a change")
	}
	if m.SetTasks(ts) {
		t.Fatal("the same snapshot again counted as a change")
	}
	if n := m.tasks.Len(); n != 2 {
		t.Fatalf("%d tasks stored, want 2", n)
	}
}
