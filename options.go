package goray

import grt "github.com/goray/goray/runtime"

// Options collects the options of a function, an actor class or one call.
// Zero values mean "the default"; the set* flags tell an explicit zero apart.
type Options struct {
	NumCPUs         float64
	NumGPUs         float64
	Resources       map[string]float64
	MaxRetries      int
	RetryExceptions bool
	Strategy        SchedulingStrategy
	MaxRestarts     int
	MaxTaskRetries  int
	MaxConcurrency  int
	Name            string
	Detached        bool

	setCPUs, setGPUs, setRetries bool

	res map[string]float64 // taskResources, computed once per Func
}

// Option sets one option.
type Option func(*Options)

// NumCPUs sets the CPUs a task needs (default 1) or an actor holds (default:
// 1 to be placed, 0 while alive).
func NumCPUs(n float64) Option { return func(o *Options) { o.NumCPUs, o.setCPUs = n, true } }

// NumGPUs sets the GPUs a task or actor needs.
func NumGPUs(n float64) Option { return func(o *Options) { o.NumGPUs, o.setGPUs = n, true } }

// Resources sets custom resource requirements.
func Resources(m map[string]float64) Option {
	return func(o *Options) {
		o.Resources = make(map[string]float64, len(m))
		for k, v := range m {
			o.Resources[k] = v
		}
	}
}

// MaxRetries sets how often a task is retried after its worker dies (default
// 3, -1 forever).
func MaxRetries(n int) Option { return func(o *Options) { o.MaxRetries, o.setRetries = n, true } }

// RetryExceptions makes a task also retry when it returns an error or panics.
func RetryExceptions(b bool) Option { return func(o *Options) { o.RetryExceptions = b } }

// Strategy sets the scheduling strategy.
func Strategy(s SchedulingStrategy) Option { return func(o *Options) { o.Strategy = s } }

// MaxRestarts sets how often an actor is restarted after its process dies
// (default 0, -1 forever).
func MaxRestarts(n int) Option { return func(o *Options) { o.MaxRestarts = n } }

// MaxTaskRetries sets how often an actor call is retried after the actor
// restarts (default 0: at most once).
func MaxTaskRetries(n int) Option { return func(o *Options) { o.MaxTaskRetries = n } }

// MaxConcurrency sets how many calls an actor runs at once (default 1,
// which keeps per-caller order).
func MaxConcurrency(n int) Option { return func(o *Options) { o.MaxConcurrency = n } }

// Name names an actor so that GetActor finds it.
func Name(name string) Option { return func(o *Options) { o.Name = name } }

// Detached makes an actor outlive the job that created it.
func Detached() Option { return func(o *Options) { o.Detached = true } }

func buildOptions(base Options, opts []Option) Options {
	o := base
	o.res = nil
	if base.Resources != nil {
		o.Resources = make(map[string]float64, len(base.Resources))
		for k, v := range base.Resources {
			o.Resources[k] = v
		}
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// resources returns the resource map for a task (CPU default 1).
func (o *Options) taskResources() map[string]float64 {
	r := make(map[string]float64, 2+len(o.Resources))
	for k, v := range o.Resources {
		r[k] = v
	}
	r["CPU"] = 1
	if o.setCPUs {
		r["CPU"] = o.NumCPUs
	}
	if o.NumGPUs > 0 {
		r["GPU"] = o.NumGPUs
	}
	for k, v := range r {
		if v == 0 {
			delete(r, k)
		}
	}
	return r
}

func (o *Options) fillTask(spec *grt.TaskSpec) {
	spec.Resources = o.res // computed once per Func; shared and never modified
	if spec.Resources == nil {
		spec.Resources = o.taskResources()
	}
	spec.MaxRetries = 3
	if o.setRetries {
		spec.MaxRetries = o.MaxRetries
	}
	spec.RetryExceptions = o.RetryExceptions
	spec.Strategy = o.Strategy.s
}

// SchedulingStrategy says where a task or actor may run.
type SchedulingStrategy struct{ s grt.Strategy }

// DefaultStrategy prefers the local node until it is busy (Ray's hybrid policy).
func DefaultStrategy() SchedulingStrategy { return SchedulingStrategy{} }

// Spread spreads tasks or actors over nodes, best effort.
func Spread() SchedulingStrategy {
	return SchedulingStrategy{grt.Strategy{Kind: grt.StrategySpread}}
}

// NodeAffinity pins to a node; soft falls back to another node when it cannot.
func NodeAffinity(node string, soft bool) SchedulingStrategy {
	return SchedulingStrategy{grt.Strategy{Kind: grt.StrategyNodeAffinity, Node: node, Soft: soft}}
}

// InPlacementGroup runs in bundle of pg (-1: any bundle).
func InPlacementGroup(pg *PlacementGroup, bundle int) SchedulingStrategy {
	return SchedulingStrategy{grt.Strategy{Kind: grt.StrategyPlacementGroup, PG: pg.ID(), Bundle: bundle}}
}
