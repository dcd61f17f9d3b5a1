package state

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
)

// Paging limits. DefaultLimit is Ray's; MaxLimit bounds what one request
// can make the server encode.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Errors a Source or the Handler report; the Handler maps them to HTTP
// status codes (400 and 404).
var (
	ErrBadQuery = errors.New("bad query")
	ErrNotFound = errors.New("not found")
)

// Query selects a page of a list. Filters map a record's JSON field name to
// the value it must have (case-insensitive for text); a value starting with
// "!" means "must not have". Limit 0 means DefaultLimit.
type Query struct {
	Filters map[string]string
	Limit   int
	Offset  int
}

// Page is one page of a list and the number of records that matched the
// filters in all.
type Page[T any] struct {
	Items []T
	Total int
}

// reserved query parameters that are not filters.
var reserved = map[string]bool{"limit": true, "offset": true, "token": true}

// ParseQuery reads a Query from URL parameters: limit, offset, and every
// other parameter as a filter (?state=ALIVE&limit=50).
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	var err error
	if q.Limit, err = intParam(v, "limit"); err != nil {
		return q, err
	}
	if q.Offset, err = intParam(v, "offset"); err != nil {
		return q, err
	}
	for k, vals := range v {
		if reserved[k] || len(vals) == 0 {
			continue
		}
		if len(vals) > 1 {
			return q, fmt.Errorf("%w: filter %q given %d times; give each field once", ErrBadQuery, k, len(vals))
		}
		if q.Filters == nil {
			q.Filters = map[string]string{}
		}
		q.Filters[k] = vals[0]
	}
	return q, q.Validate()
}

func intParam(v url.Values, name string) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an integer", ErrBadQuery, name, s)
	}
	return n, nil
}

// Validate checks the paging fields.
func (q Query) Validate() error {
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("%w: limit=%d is outside 0..%d", ErrBadQuery, q.Limit, MaxLimit)
	}
	if q.Offset < 0 {
		return fmt.Errorf("%w: offset=%d is negative", ErrBadQuery, q.Offset)
	}
	return nil
}

// EffectiveLimit is Limit, or DefaultLimit when Limit is 0.
func (q Query) EffectiveLimit() int {
	if q.Limit == 0 {
		return DefaultLimit
	}
	return q.Limit
}

// Encode writes q as URL parameters, the inverse of ParseQuery.
func (q Query) Encode() url.Values {
	v := url.Values{}
	keys := make([]string, 0, len(q.Filters))
	for k := range q.Filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Set(k, q.Filters[k])
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset != 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	return v
}
