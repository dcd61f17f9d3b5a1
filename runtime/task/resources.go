package task

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Well-known resource names. Any other non-empty name is a custom resource
// (for example "accelerator_type:H200").
const (
	CPU               = "CPU"
	GPU               = "GPU"
	Memory            = "memory"
	ObjectStoreMemory = "object_store_memory"
)

// fixedScale is the number of fixed-point units per resource unit. Ray uses
// the same 1/10000 granularity, so fractional requests such as 0.1 CPU are
// exact and sums of them never drift.
const fixedScale = 10000

// MaxQuantity is the largest quantity a single resource may hold. It keeps
// the fixed-point representation (quantity × 10000) inside int64 with room
// for a sum of two; memory in bytes therefore tops out at ~900 TB per node.
const MaxQuantity = 9e14

// Resources maps resource names to quantities. Quantities are compared and
// combined in fixed point at 1/10000 granularity, so 0.1+0.2 fits in 0.3.
// A missing key means zero. The zero value (nil) is an empty set.
//
// Precision: fractional quantities are exact on the 1/10000 grid up to
// about 10^11; above 2^36 only whole numbers are exact (which covers memory
// in bytes up to MaxQuantity). Adding a fraction to a huge quantity of the
// same resource rounds, as float64 itself would.
type Resources map[string]float64

// wholeFrom is the magnitude from which whole quantities take an exact
// integer path through fix and unfix. float64 keeps the 1/10000 grid exact
// only up to about 2^37; beyond that the only quantities in practice are
// byte counts, which are whole numbers and stay exact up to MaxQuantity.
const wholeFrom = 1 << 36

// fix converts a quantity to fixed-point units, rounding to the nearest unit.
// Out-of-range values saturate rather than wrap; Validate rejects them anyway.
func fix(v float64) int64 {
	if v >= wholeFrom || v <= -wholeFrom {
		if v == math.Trunc(v) && math.Abs(v) < math.MaxInt64/fixedScale {
			return int64(v) * fixedScale
		}
	}
	f := math.Round(v * fixedScale)
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	case f != f: // NaN
		return 0
	}
	return int64(f)
}

// unfix converts fixed-point units back to a quantity. Whole units divide in
// integers first so that large byte counts come back exactly.
func unfix(x int64) float64 {
	if x%fixedScale == 0 {
		return float64(x / fixedScale)
	}
	return float64(x) / fixedScale
}

// addSat adds two fixed-point values, saturating instead of overflowing.
func addSat(a, b int64) int64 {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && s >= 0 {
		return math.MinInt64
	}
	return s
}

// Fits reports whether every positive quantity in r is available in avail.
// It allocates nothing: it is on the scheduling hot path.
func (r Resources) Fits(avail Resources) bool {
	for k, v := range r {
		need := fix(v)
		if need <= 0 {
			continue
		}
		if fix(avail[k]) < need {
			return false
		}
	}
	return true
}

// Add returns r+o as a new set holding every key of either operand.
func (r Resources) Add(o Resources) Resources {
	out := make(Resources, max(len(r), len(o)))
	for k, v := range r {
		out[k] = unfix(fix(v))
	}
	for k, v := range o {
		out[k] = unfix(addSat(fix(out[k]), fix(v)))
	}
	return out
}

// Sub returns r-o as a new set holding every key of either operand. It fails
// with ErrInsufficientResources, naming the first short resource in sorted
// order, if any quantity would go below zero; r is never modified.
func (r Resources) Sub(o Resources) (Resources, error) {
	out := make(Resources, max(len(r), len(o)))
	for k, v := range r {
		out[k] = unfix(fix(v))
	}
	var short []string
	for k, v := range o {
		d := fix(out[k]) - fix(v)
		if d < 0 {
			short = append(short, k)
			continue
		}
		out[k] = unfix(d)
	}
	if len(short) > 0 {
		slices.Sort(short)
		k := short[0]
		return nil, fmt.Errorf("%w: %s: have %s, need %s", ErrInsufficientResources, k,
			formatQty(r[k]), formatQty(o[k]))
	}
	return out, nil
}

// Clone returns an independent copy of r (nil stays nil).
func (r Resources) Clone() Resources {
	if r == nil {
		return nil
	}
	out := make(Resources, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

// IsZero reports whether every quantity in r rounds to zero units.
func (r Resources) IsZero() bool {
	for _, v := range r {
		if fix(v) != 0 {
			return false
		}
	}
	return true
}

// Equal reports whether r and o hold the same quantities, treating missing
// keys as zero and comparing in fixed point.
func (r Resources) Equal(o Resources) bool {
	for k, v := range r {
		if fix(v) != fix(o[k]) {
			return false
		}
	}
	for k, v := range o {
		if _, ok := r[k]; !ok && fix(v) != 0 {
			return false
		}
	}
	return true
}

// Get returns the quantity of name, rounded to the fixed-point grid.
func (r Resources) Get(name string) float64 { return unfix(fix(r[name])) }

// String renders r with keys sorted, e.g. "{CPU: 2, GPU: 0.5}", so it is
// stable in logs, error messages and test goldens.
func (r Resources) String() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(formatQty(r[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// formatQty prints a quantity on the fixed-point grid without exponent
// notation, so byte counts stay readable.
func formatQty(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(unfix(fix(v)), 'f', -1, 64)
}

// Validate rejects empty names and quantities that are negative, NaN,
// infinite or above MaxQuantity. Keys are checked in sorted order so the
// error is deterministic. Errors wrap ErrInvalidResources.
func (r Resources) Validate() error {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := r[k]
		switch {
		case k == "":
			return fmt.Errorf("%w: empty resource name", ErrInvalidResources)
		case math.IsNaN(v):
			return fmt.Errorf("%w: %s is NaN", ErrInvalidResources, k)
		case math.IsInf(v, 0):
			return fmt.Errorf("%w: %s is infinite", ErrInvalidResources, k)
		case v < 0:
			return fmt.Errorf("%w: %s is negative (%v)", ErrInvalidResources, k, v)
		case v > MaxQuantity:
			return fmt.Errorf("%w: %s is %v, above the maximum %v", ErrInvalidResources, k, v, float64(MaxQuantity))
		}
	}
	return nil
}
