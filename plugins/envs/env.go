package envs

import (
	"context"
	"errors"
	"fmt"
)

// SpaceKind names the kind of a Gymnasium space.
type SpaceKind string

// The space kinds goray understands. They mirror gymnasium.spaces.
const (
	KindDiscrete      SpaceKind = "Discrete"
	KindBox           SpaceKind = "Box"
	KindMultiDiscrete SpaceKind = "MultiDiscrete"
	KindMultiBinary   SpaceKind = "MultiBinary"
	KindTuple         SpaceKind = "Tuple"
	KindDict          SpaceKind = "Dict"
)

// Space describes an observation or action space exactly as Gymnasium does.
// Only the fields that belong to Kind are set.
type Space struct {
	Kind SpaceKind `json:"kind"`
	// N and Start describe Discrete(n, start).
	N     int64 `json:"n,omitempty"`
	Start int64 `json:"start,omitempty"`
	// Low, High, Shape and Dtype describe a Box. Low and High hold one
	// entry per element (row-major); float32 bounds are stored as their exact
	// float64 value. Infinite bounds are ±Inf.
	Low   []float64 `json:"low,omitempty"`
	High  []float64 `json:"high,omitempty"`
	Shape []int     `json:"shape,omitempty"`
	// Dtype is the numpy dtype name: "float32", "float64", "int64", "uint8"...
	Dtype string `json:"dtype,omitempty"`
	// Nvec describes MultiDiscrete; N alone describes MultiBinary.
	Nvec []int64 `json:"nvec,omitempty"`
	// Spaces and Keys describe Tuple (Keys empty) and Dict (Keys sorted, as Gymnasium sorts them).
	Spaces []Space  `json:"spaces,omitempty"`
	Keys   []string `json:"keys,omitempty"`
}

// FlatDim is the number of float64 slots one value of the space takes in a
// flat vector: 1 for Discrete, the element count for Box, len(Nvec) for
// MultiDiscrete, and the sum over members for Tuple and Dict. This is the
// layout of observations and actions in Batch; it is not a one-hot encoding.
func (s Space) FlatDim() int {
	switch s.Kind {
	case KindDiscrete:
		return 1
	case KindBox:
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		return n
	case KindMultiDiscrete:
		return len(s.Nvec)
	case KindMultiBinary:
		return int(s.N)
	case KindTuple, KindDict:
		n := 0
		for _, sub := range s.Spaces {
			n += sub.FlatDim()
		}
		return n
	}
	return 0
}

// Spec is what an env plugin reports for one env ID: the analogue of
// gymnasium.envs.registration.EnvSpec plus the env's spaces.
type Spec struct {
	ID               string `json:"id"`
	ObservationSpace Space  `json:"observation_space"`
	ActionSpace      Space  `json:"action_space"`
	// MaxEpisodeSteps is the TimeLimit applied by make; 0 means none.
	MaxEpisodeSteps int `json:"max_episode_steps,omitempty"`
	// RewardThreshold is nil where Gymnasium registers none.
	RewardThreshold *float64 `json:"reward_threshold,omitempty"`
	// RenderModes lists the supported render modes ("ansi", "rgb_array").
	RenderModes []string `json:"render_modes,omitempty"`
	// Plugin names the plugin binary that serves the ID ("builtin" for the
	// envs compiled into goray).
	Plugin string `json:"plugin,omitempty"`
}

// Info is Gymnasium's per-step info dict. Values are float64, int64, bool,
// string, []float64 or []int64.
type Info map[string]any

// Kwargs are the keyword arguments of gymnasium.make (map_name, is_slippery,
// desc, ...). Values are decoded from TOML or JSON: string, bool, int64,
// float64, []any and map[string]any.
type Kwargs map[string]any

// Env is one environment with Gymnasium's single-env semantics, without the
// TimeLimit wrapper (the vector applies it). Observations and actions are flat
// float64 vectors laid out as Space.FlatDim describes; float32 observations
// are carried as their exact float64 values so nothing is lost.
//
// Implementations need not be safe for concurrent use.
type Env interface {
	// Spec returns the env's spec.
	Spec() Spec
	// Reset starts an episode, writing the observation into obs
	// (len == ObservationSpace.FlatDim()). A nil seed keeps the env's RNG as
	// Gymnasium does; a non-nil seed re-creates it.
	Reset(seed *int64, options map[string]any, obs []float64) (Info, error)
	// Step applies action (len == ActionSpace.FlatDim()) and writes the next
	// observation into obs.
	Step(action []float64, obs []float64) (reward float64, terminated bool, info Info, err error)
	// Render renders the current state in mode ("ansi" returns text,
	// "rgb_array" returns an RGB image of Height×Width×3 bytes).
	Render(mode string) (Render, error)
	// Close releases resources.
	Close() error
}

// Render is one rendered frame.
type Render struct {
	Text   string `json:"text,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	RGB    []byte `json:"rgb,omitempty"`
}

// Factory makes a new Env for an ID with the given kwargs.
type Factory func(kwargs Kwargs) (Env, error)

// Batch is the result of a vector reset or step for N sub-envs. Obs holds
// N×ObservationSpace.FlatDim() values, sub-env after sub-env. After Reset,
// Rewards are zero and Terminated/Truncated false.
type Batch struct {
	Obs        []float64 `json:"obs"`
	Rewards    []float64 `json:"rewards"`
	Terminated []bool    `json:"terminated"`
	Truncated  []bool    `json:"truncated"`
	// Infos holds one Info per sub-env; it may be nil when the caller asked
	// for no infos.
	Infos []Info `json:"infos,omitempty"`
}

// AutoresetMode is Gymnasium 1.x's vector autoreset mode.
type AutoresetMode string

// Autoreset modes; NextStep is the default, as in Gymnasium.
const (
	AutoresetNextStep AutoresetMode = "NEXT_STEP"
	AutoresetSameStep AutoresetMode = "SAME_STEP"
	AutoresetDisabled AutoresetMode = "DISABLED"
)

// VectorConfig describes a vector of sub-envs of one ID.
type VectorConfig struct {
	ID      string        `json:"id"`
	NumEnvs int           `json:"num_envs"`
	Kwargs  Kwargs        `json:"kwargs,omitempty"`
	Mode    AutoresetMode `json:"autoreset_mode,omitempty"`
	// NoInfos skips sending infos on every step (the rollout hot path).
	NoInfos bool `json:"no_infos,omitempty"`
}

// VectorEnv steps N sub-envs of one ID in one call. It applies the
// registered TimeLimit (truncation) and the autoreset mode. It is the
// interface both the in-process fast path and the plugin subprocess path
// implement.
type VectorEnv interface {
	Spec() Spec
	NumEnvs() int
	// Reset resets every sub-env. seeds is nil (keep RNGs) or holds one seed
	// per sub-env.
	Reset(ctx context.Context, seeds []int64, options map[string]any) (*Batch, error)
	// Step takes NumEnvs()×ActionSpace.FlatDim() actions.
	Step(ctx context.Context, actions []float64) (*Batch, error)
	// Render renders sub-env i.
	Render(ctx context.Context, i int, mode string) (Render, error)
	Close() error
}

// Sentinel errors. Wrapped errors carry the env ID and plugin name.
var (
	// ErrUnknownEnv: no registered plugin serves the ID.
	ErrUnknownEnv = errors.New("unknown env id")
	// ErrBadAction: an action outside the action space or of the wrong length.
	ErrBadAction = errors.New("invalid action")
	// ErrBadKwargs: an unknown or ill-typed keyword argument.
	ErrBadKwargs = errors.New("invalid env kwargs")
	// ErrResetNeeded: step before the first reset (Gymnasium's OrderEnforcing).
	ErrResetNeeded = errors.New("step called before reset")
	// ErrStaleStep: a plugin dropped a step sent before the vector's last
	// reset (it arrived late, after the host gave up on it).
	ErrStaleStep = errors.New("stale step dropped")
	// ErrPluginCrashed: the plugin process died or stopped answering.
	ErrPluginCrashed = errors.New("env plugin crashed")
	// ErrHandshake: the plugin binary speaks another protocol version.
	ErrHandshake = errors.New("env plugin handshake failed")
)

// EnvError names the env and plugin that failed.
type EnvError struct {
	ID     string
	Plugin string
	Err    error
}

// Error names the env (and the plugin, when one served it) and the cause.
func (e *EnvError) Error() string {
	if e.Plugin != "" {
		return fmt.Sprintf("env %s (plugin %s): %v", e.ID, e.Plugin, e.Err)
	}
	return fmt.Sprintf("env %s: %v", e.ID, e.Err)
}

// Unwrap gives the cause, so errors.Is matches the sentinel errors.
func (e *EnvError) Unwrap() error { return e.Err }
