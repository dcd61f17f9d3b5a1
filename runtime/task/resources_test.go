package task

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestResourcesFits(t *testing.T) {
	tests := []struct {
		name   string
		demand Resources
		avail  Resources
		want   bool
	}{
		{"empty demand fits nil", nil, nil, true},
		{"empty demand fits anything", Resources{}, Resources{CPU: 1}, true},
		{"exact", Resources{CPU: 2}, Resources{CPU: 2}, true},
		{"less", Resources{CPU: 1}, Resources{CPU: 2}, true},
		{"more", Resources{CPU: 3}, Resources{CPU: 2}, false},
		{"missing key", Resources{GPU: 1}, Resources{CPU: 8}, false},
		{"zero quantity of missing key", Resources{GPU: 0, CPU: 1}, Resources{CPU: 1}, true},
		{"0.1+0.2 fits 0.3", Resources{CPU: 0.1 + 0.2}, Resources{CPU: 0.3}, true},
		{"0.3 fits 0.1+0.2", Resources{CPU: 0.3}, Resources{CPU: 0.1 + 0.2}, true},
		{"below granularity rounds away", Resources{CPU: 1.00004}, Resources{CPU: 1}, true},
		{"at granularity counts", Resources{CPU: 1.0001}, Resources{CPU: 1}, false},
		{"custom resource", Resources{"accelerator_type:H200": 0.001}, Resources{"accelerator_type:H200": 1}, true},
		{"all must fit", Resources{CPU: 1, GPU: 2}, Resources{CPU: 4, GPU: 1}, false},
		{"memory bytes", Resources{Memory: 1 << 30}, Resources{Memory: 2 << 30}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.demand.Fits(tt.avail); got != tt.want {
				t.Errorf("%v.Fits(%v) = %v, want %v", tt.demand, tt.avail, got, tt.want)
			}
		})
	}
}

func TestResourcesAddSub(t *testing.T) {
	a := Resources{CPU: 0.1, GPU: 1}
	b := Resources{CPU: 0.2, "x": 3}
	sum := a.Add(b)
	if want := (Resources{CPU: 0.3, GPU: 1, "x": 3}); !sum.Equal(want) || sum[CPU] != 0.3 {
		t.Fatalf("Add = %v (CPU %.20f), want %v", sum, sum[CPU], want)
	}
	if a[CPU] != 0.1 || len(a) != 2 {
		t.Fatalf("Add modified its receiver: %v", a)
	}
	diff, err := sum.Sub(b)
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Equal(a) || diff[CPU] != 0.1 {
		t.Fatalf("Sub = %v, want %v", diff, a)
	}
	if v, ok := diff["x"]; !ok || v != 0 {
		t.Fatalf("Sub dropped a zeroed key or left it non-zero: %v", diff)
	}
	// Many small acquisitions and releases must not drift.
	r := Resources{CPU: 1}
	for range 10 {
		if r, err = r.Sub(Resources{CPU: 0.1}); err != nil {
			t.Fatalf("subtracting 0.1 ten times from 1: %v", err)
		}
	}
	if !r.IsZero() || r[CPU] != 0 {
		t.Fatalf("after 10×0.1 from 1: %v, want zero", r)
	}
}

func TestResourcesSubInsufficient(t *testing.T) {
	tests := []struct {
		name   string
		r, o   Resources
		substr string
	}{
		{"short CPU", Resources{CPU: 1}, Resources{CPU: 1.5}, "CPU: have 1, need 1.5"},
		{"missing key", Resources{CPU: 1}, Resources{GPU: 1}, "GPU: have 0, need 1"},
		{"first short key in sorted order", Resources{}, Resources{"b": 1, "a": 1}, "a: have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.r.Clone()
			got, err := tt.r.Sub(tt.o)
			if !errors.Is(err, ErrInsufficientResources) {
				t.Fatalf("Sub err = %v, want ErrInsufficientResources", err)
			}
			if got != nil {
				t.Errorf("Sub returned %v alongside an error", got)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("error %q does not contain %q", err, tt.substr)
			}
			if !tt.r.Equal(before) {
				t.Errorf("Sub modified receiver: %v", tt.r)
			}
		})
	}
}

func TestResourcesValidate(t *testing.T) {
	tests := []struct {
		name   string
		r      Resources
		substr string // "" = valid
	}{
		{"nil", nil, ""},
		{"ok", Resources{CPU: 1, GPU: 0.5, Memory: 1e12}, ""},
		{"zero", Resources{CPU: 0}, ""},
		{"negative", Resources{CPU: -1}, "CPU is negative"},
		{"NaN", Resources{GPU: math.NaN()}, "GPU is NaN"},
		{"+Inf", Resources{CPU: math.Inf(1)}, "CPU is infinite"},
		{"-Inf", Resources{CPU: math.Inf(-1)}, "CPU is infinite"},
		{"too large", Resources{Memory: 1e16}, "above the maximum"},
		{"empty name", Resources{"": 1}, "empty resource name"},
		{"deterministic first error", Resources{"b": -1, "a": -2}, "a is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.substr == "" {
				if err != nil {
					t.Fatalf("Validate(%v) = %v, want nil", tt.r, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidResources) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("Validate = %v, want ErrInvalidResources containing %q", err, tt.substr)
			}
		})
	}
}

func TestResourcesStringCloneIsZero(t *testing.T) {
	r := Resources{Memory: 1 << 30, CPU: 2, GPU: 0.5, "accelerator_type:H200": 1}
	if got, want := r.String(), "{CPU: 2, GPU: 0.5, accelerator_type:H200: 1, memory: 1073741824}"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := Resources(nil).String(); got != "{}" {
		t.Errorf("nil String = %q", got)
	}
	if got := (Resources{CPU: 0.1 + 0.2}).String(); got != "{CPU: 0.3}" {
		t.Errorf("String rounds to the grid: got %q", got)
	}
	c := r.Clone()
	c[CPU] = 99
	if r[CPU] != 2 {
		t.Error("Clone shares storage with the original")
	}
	if Resources(nil).Clone() != nil {
		t.Error("nil.Clone() != nil")
	}
	for _, z := range []Resources{nil, {}, {CPU: 0}, {CPU: 0.00001}} {
		if !z.IsZero() {
			t.Errorf("%v.IsZero() = false", z)
		}
	}
	if (Resources{GPU: 0.0001}).IsZero() {
		t.Error("one unit is not zero")
	}
	if r.Get(CPU) != 2 || r.Get("nope") != 0 {
		t.Error("Get")
	}
}

// FuzzResourcesArithmetic checks the algebra the scheduler relies on:
// (a+b)-b == a, a fits a+b, Sub fails exactly when Fits fails, and nothing
// panics on odd input.
func FuzzResourcesArithmetic(f *testing.F) {
	f.Add(0.1, 0.2, 1.0, 3.0)
	f.Add(0.0, 0.0, 0.0, 0.0)
	f.Add(1e14, 1e14, 0.5, 0.25)
	f.Add(1.00000000000053e+14, 1e14, 0.05555555555555555, 0.25)
	f.Add(6.8e10+0.1234, 1.0, 6.8e10+0.4321, 0.0)
	f.Add(8.9e14, 3.0, 0.0001, 0.0)
	f.Add(0.00004, 0.00006, 7.0, 1e-9)
	f.Add(-1.0, math.NaN(), math.Inf(1), 2.0)
	f.Fuzz(func(t *testing.T, a1, a2, b1, b2 float64) {
		// Mixing a fraction into a quantity past 2^36 of the same resource
		// is outside the exact range (see Resources); keep such pairs whole.
		if math.Abs(a1) >= wholeFrom || math.Abs(b1) >= wholeFrom {
			a1, b1 = math.Round(a1), math.Round(b1)
		}
		a := Resources{CPU: a1, GPU: a2}
		b := Resources{CPU: b1, "x": b2}
		_ = a.String()
		if a.Validate() != nil || b.Validate() != nil {
			_ = a.Add(b)
			_, _ = a.Sub(b)
			_ = a.Fits(b)
			return
		}
		sum := a.Add(b)
		if !a.Fits(sum) || !b.Fits(sum) {
			t.Fatalf("%v or %v does not fit their sum %v", a, b, sum)
		}
		back, err := sum.Sub(b)
		if err != nil {
			t.Fatalf("(%v+%v)-%v: %v", a, b, b, err)
		}
		if !back.Equal(a) {
			t.Fatalf("(%v+%v)-%v = %v, want %v", a, b, b, back, a)
		}
		_, err = a.Sub(b)
		if (err == nil) != b.Fits(a) {
			t.Fatalf("Sub err=%v but Fits=%v for %v-%v", err, b.Fits(a), a, b)
		}
		if err != nil && !errors.Is(err, ErrInsufficientResources) {
			t.Fatalf("Sub err = %v", err)
		}
	})
}

func TestResourcesEqualAndLimits(t *testing.T) {
	tests := []struct {
		a, b Resources
		want bool
	}{
		{nil, nil, true},
		{nil, Resources{CPU: 0}, true},
		{Resources{CPU: 0}, nil, true},
		{Resources{CPU: 0.1 + 0.2}, Resources{CPU: 0.3}, true},
		{Resources{CPU: 1}, Resources{CPU: 1, GPU: 1}, false},
		{Resources{CPU: 1, GPU: 1}, Resources{CPU: 1}, false},
		{Resources{CPU: 1}, Resources{CPU: 1.0001}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v", tt.a, tt.b, got)
		}
	}
	// Whole byte counts stay exact through the fixed-point path far beyond
	// float64's 1/10000 grid.
	for _, v := range []float64{1 << 40, 3e12 + 1, 8.99e14, MaxQuantity} {
		r := Resources{Memory: v}
		if got := r.Add(Resources{Memory: 1}); got[Memory] != v+1 {
			t.Errorf("%v + 1 = %v", v, got[Memory])
		}
		if got, err := r.Sub(Resources{Memory: v - 1}); err != nil || got[Memory] != 1 {
			t.Errorf("%v - (%v-1) = %v, %v", v, v, got, err)
		}
	}
	// Out-of-range values saturate instead of wrapping around.
	if fix(1e300) != math.MaxInt64 || fix(-1e300) != math.MinInt64 || fix(math.NaN()) != 0 {
		t.Error("fix does not saturate")
	}
	if addSat(math.MaxInt64, 1) != math.MaxInt64 || addSat(math.MinInt64, -1) != math.MinInt64 || addSat(2, 3) != 5 {
		t.Error("addSat")
	}
}
