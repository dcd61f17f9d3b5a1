package state

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Table is a concurrency-safe, ordered, keyed list of records that answers
// Queries: the generic part of every Source. Records are listed in
// insertion order, or newest first when the table was made with
// NewestFirst; Put on an existing key replaces the record in place.
type Table[T any] struct {
	key         func(T) string
	newestFirst bool
	fields      map[string]fieldGetter

	mu    sync.RWMutex
	items []T
	index map[string]int
}

// TableOption configures a Table.
type TableOption func(*tableOpts)

type tableOpts struct{ newestFirst bool }

// NewestFirst lists the most recently inserted records first, as users
// expect for jobs and tasks.
func NewestFirst() TableOption { return func(o *tableOpts) { o.newestFirst = true } }

// NewTable makes a table keyed by key. Filterable fields are T's exported
// scalar fields (text, numbers, booleans, and pointers to them) under their
// JSON names.
func NewTable[T any](key func(T) string, opts ...TableOption) *Table[T] {
	var o tableOpts
	for _, f := range opts {
		f(&o)
	}
	return &Table[T]{key: key, newestFirst: o.newestFirst, fields: fieldsOf(reflect.TypeFor[T]()), index: map[string]int{}}
}

// Put inserts r, or replaces the record with the same key.
func (t *Table[T]) Put(r T) {
	k := t.key(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[k]; ok {
		t.items[i] = r
		return
	}
	t.index[k] = len(t.items)
	t.items = append(t.items, r)
}

// Get returns the record with key k.
func (t *Table[T]) Get(k string) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, ok := t.index[k]
	if !ok {
		var zero T
		return zero, false
	}
	return t.items[i], true
}

// Delete removes the record with key k and reports whether it was there.
// It costs O(n), which is fine for the rare deletions (a job removed, an
// object freed in bulk should use Replace).
func (t *Table[T]) Delete(k string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index[k]
	if !ok {
		return false
	}
	t.items = slices.Delete(t.items, i, i+1)
	delete(t.index, k)
	for j := i; j < len(t.items); j++ {
		t.index[t.key(t.items[j])] = j
	}
	return true
}

// Replace sets the whole contents, in the given order; a key given twice
// keeps its first place and its last record.
func (t *Table[T]) Replace(rs []T) {
	items, idx := t.dedupe(rs)
	t.mu.Lock()
	t.items, t.index = items, idx
	t.mu.Unlock()
}

// dedupe is rs as Replace stores it, and its index.
func (t *Table[T]) dedupe(rs []T) ([]T, map[string]int) {
	idx := make(map[string]int, len(rs))
	items := make([]T, 0, len(rs))
	for _, r := range rs {
		k := t.key(r)
		if i, ok := idx[k]; ok {
			items[i] = r
			continue
		}
		idx[k] = len(items)
		items = append(items, r)
	}
	return items, idx
}

// Len is the number of records.
func (t *Table[T]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.items)
}

// Fields lists the filterable field names, sorted.
func (t *Table[T]) Fields() []string {
	out := make([]string, 0, len(t.fields))
	for k := range t.fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// List answers q: the page of matching records and how many matched.
func (t *Table[T]) List(q Query) (Page[T], error) {
	if err := q.Validate(); err != nil {
		return Page[T]{}, err
	}
	limit := q.EffectiveLimit()
	page := Page[T]{Items: []T{}}
	if len(q.Filters) == 0 {
		// Unfiltered pages are slices of the list: no scan.
		t.mu.RLock()
		defer t.mu.RUnlock()
		n := len(t.items)
		page.Total = n
		for i := q.Offset; i < n && len(page.Items) < limit; i++ {
			j := i
			if t.newestFirst {
				j = n - 1 - i
			}
			page.Items = append(page.Items, t.items[j])
		}
		return page, nil
	}
	err := t.Scan(q.Filters, func(r T) bool {
		if page.Total >= q.Offset && len(page.Items) < limit {
			page.Items = append(page.Items, r)
		}
		page.Total++
		return true
	})
	return page, err
}

// Scan calls fn for every record that matches filters, in list order,
// until fn returns false. It holds the read lock, so fn must not modify
// the table.
func (t *Table[T]) Scan(filters map[string]string, fn func(T) bool) error {
	m, err := t.matcher(filters)
	if err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.items)
	// Indexing the slice through reflect avoids copying each record to
	// the heap just to read its fields.
	sv := reflect.ValueOf(t.items)
	for i := range n {
		j := i
		if t.newestFirst {
			j = n - 1 - i
		}
		if m != nil && !m(sv.Index(j)) {
			continue
		}
		if !fn(t.items[j]) {
			break
		}
	}
	return nil
}

// matcher compiles filters into one predicate; nil means "match all".
func (t *Table[T]) matcher(filters map[string]string) (func(reflect.Value) bool, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	type cond struct {
		get  fieldGetter
		want string
		num  float64
		isN  bool
		neg  bool
	}
	conds := make([]cond, 0, len(filters))
	for k, v := range filters {
		g, ok := t.fields[k]
		if !ok {
			return nil, fmt.Errorf("%w: unknown filter field %q (fields: %s)", ErrBadQuery, k, strings.Join(t.Fields(), ", "))
		}
		c := cond{get: g}
		c.want, c.neg = strings.CutPrefix(v, "!")
		if g.numeric {
			f, err := strconv.ParseFloat(c.want, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: filter %s=%q: %s is a number", ErrBadQuery, k, v, k)
			}
			c.num, c.isN = f, true
		}
		conds = append(conds, c)
	}
	return func(rv reflect.Value) bool {
		for _, c := range conds {
			fv := rv.FieldByIndex(c.get.index)
			var eq bool
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					eq = c.want == "" && !c.isN
					if eq == c.neg {
						return false
					}
					continue
				}
				fv = fv.Elem()
			}
			switch {
			case c.isN:
				eq = numberOf(fv) == c.num
			case fv.Kind() == reflect.Bool:
				eq = strings.EqualFold(strconv.FormatBool(fv.Bool()), c.want)
			default:
				eq = strings.EqualFold(fv.String(), c.want)
			}
			if eq == c.neg {
				return false
			}
		}
		return true
	}, nil
}

type fieldGetter struct {
	index   []int
	numeric bool
}

// fieldsOf maps JSON names of T's scalar fields to their indices.
func fieldsOf(t reflect.Type) map[string]fieldGetter {
	out := map[string]fieldGetter{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String, reflect.Bool:
			out[name] = fieldGetter{index: f.Index}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			out[name] = fieldGetter{index: f.Index, numeric: true}
		}
	}
	return out
}

func numberOf(v reflect.Value) float64 {
	switch {
	case v.CanInt():
		return float64(v.Int())
	case v.CanUint():
		return float64(v.Uint())
	case v.CanFloat():
		return v.Float()
	}
	return 0
}
