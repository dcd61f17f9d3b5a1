package agent

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// SumDemands adds up the nodes' pending demands by resource shape: the
// cluster's "Demands:" in `goray status`, as `ray status` shows them.
// The result is ordered by count, largest first, then by shape.
func SumDemands(per []NodeDemand) []Demand {
	idx := map[string]int{}
	out := []Demand{}
	for _, d := range per {
		if d.Count <= 0 {
			continue
		}
		k := shapeKey(d.Shape)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Demand{Shape: maps.Clone(d.Shape)})
		}
		out[i].Count += d.Count
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return shapeKey(out[i].Shape) < shapeKey(out[j].Shape)
	})
	return out
}

// SameShape reports whether a and b are one resource shape as SumDemands
// groups them: zero amounts do not count.
func SameShape(a, b map[string]float64) bool { return shapeKey(a) == shapeKey(b) }

// shapeKey is a canonical form of a resource shape; zero amounts do not
// count, so {CPU: 1, GPU: 0} and {CPU: 1} are one shape.
func shapeKey(s map[string]float64) string {
	keys := slices.Sorted(maps.Keys(s))
	var b strings.Builder
	for _, k := range keys {
		if s[k] == 0 {
			continue
		}
		b.WriteString(k + "=" + strconv.FormatFloat(s[k], 'g', -1, 64) + ";")
	}
	return b.String()
}
