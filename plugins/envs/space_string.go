package envs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// String renders the space the way Gymnasium's repr does, e.g.
// "Discrete(4)", "Box(-1.0, 1.0, (1,), float32)", "MultiDiscrete([2 3])",
// "Tuple(Discrete(32), Discrete(11), Discrete(2))".
func (s Space) String() string {
	switch s.Kind {
	case KindDiscrete:
		if s.Start != 0 {
			return fmt.Sprintf("Discrete(%d, start=%d)", s.N, s.Start)
		}
		return fmt.Sprintf("Discrete(%d)", s.N)
	case KindBox:
		shape := make([]string, len(s.Shape))
		for i, d := range s.Shape {
			shape[i] = strconv.Itoa(d)
		}
		sh := "(" + strings.Join(shape, ", ")
		if len(shape) == 1 {
			sh += ","
		}
		sh += ")"
		return fmt.Sprintf("Box(%s, %s, %s, %s)", bound(s.Low), bound(s.High), sh, s.Dtype)
	case KindMultiDiscrete:
		return fmt.Sprintf("MultiDiscrete(%v)", s.Nvec)
	case KindMultiBinary:
		return fmt.Sprintf("MultiBinary(%d)", s.N)
	case KindTuple:
		parts := make([]string, len(s.Spaces))
		for i, sub := range s.Spaces {
			parts[i] = sub.String()
		}
		return "Tuple(" + strings.Join(parts, ", ") + ")"
	case KindDict:
		parts := make([]string, len(s.Spaces))
		for i, sub := range s.Spaces {
			k := ""
			if i < len(s.Keys) {
				k = s.Keys[i]
			}
			parts[i] = fmt.Sprintf("'%s': %s", k, sub.String())
		}
		return "Dict(" + strings.Join(parts, ", ") + ")"
	}
	return string(s.Kind) + "(?)"
}

// bound prints a Box bound as one number when all elements agree (as numpy
// does in Box's repr) and as a list otherwise.
func bound(v []float64) string {
	if len(v) == 0 {
		return "?"
	}
	same := true
	for _, x := range v[1:] {
		same = same && (x == v[0] || (math.IsNaN(x) && math.IsNaN(v[0])))
	}
	if same {
		return num(v[0])
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = num(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func num(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case x == math.Trunc(x) && math.Abs(x) < 1e15:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	// float32 bounds are stored as their exact float64 value; print the
	// shortest float32 form when that is what they are.
	if float64(float32(x)) == x {
		return strconv.FormatFloat(x, 'g', -1, 32)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
