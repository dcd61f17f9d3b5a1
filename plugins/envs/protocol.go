package envs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

// The plugin protocol: go-plugin's handshake with goray's magic cookie, and
// one gRPC plugin named PluginName at protocol version ProtocolVersion. A
// plugin built against another protocol version fails the handshake with
// ErrHandshake instead of misbehaving.
const (
	// ProtocolVersion is the goray.env.v1 plugin protocol version.
	ProtocolVersion = 1
	// PluginName is the name of the env service in go-plugin's plugin set.
	PluginName = "env"
	// MagicCookieKey and MagicCookieValue tell a plugin binary that it was
	// started by a goray host (a UX guard, not security).
	MagicCookieKey   = "GORAY_ENV_PLUGIN_COOKIE"
	MagicCookieValue = "9f2c1a7e-goray-env-plugin"
)

// HandshakeConfig is the go-plugin handshake shared by hosts and plugins.
func HandshakeConfig() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// PluginSets is the versioned plugin set for ServeConfig.VersionedPlugins
// and ClientConfig.VersionedPlugins. server is the plugin-side service (nil
// on the host).
func PluginSets(server envv1.EnvServiceServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &grpcPlugin{server: server}},
	}
}

// grpcPlugin is the go-plugin glue for both sides of the env service.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server envv1.EnvServiceServer
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.server == nil {
		return errors.New("env plugin: no server implementation")
	}
	envv1.RegisterEnvServiceServer(s, p.server)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return envv1.NewEnvServiceClient(c), nil
}

// ---- conversions between envs types and goray.env.v1 messages ----

func spaceToProto(s Space) *envv1.Space {
	p := &envv1.Space{Kind: string(s.Kind), N: s.N, Start: s.Start, Low: s.Low, High: s.High,
		Dtype: s.Dtype, Nvec: s.Nvec, Keys: s.Keys}
	for _, d := range s.Shape {
		p.Shape = append(p.Shape, int64(d))
	}
	for _, sub := range s.Spaces {
		p.Spaces = append(p.Spaces, spaceToProto(sub))
	}
	return p
}

func spaceFromProto(p *envv1.Space) Space {
	if p == nil {
		return Space{}
	}
	s := Space{Kind: SpaceKind(p.Kind), N: p.N, Start: p.Start, Low: p.Low, High: p.High,
		Dtype: p.Dtype, Nvec: p.Nvec, Keys: p.Keys}
	for _, d := range p.Shape {
		s.Shape = append(s.Shape, int(d))
	}
	for _, sub := range p.Spaces {
		s.Spaces = append(s.Spaces, spaceFromProto(sub))
	}
	return s
}

func specToProto(s Spec) *envv1.Spec {
	return &envv1.Spec{Id: s.ID, ObservationSpace: spaceToProto(s.ObservationSpace),
		ActionSpace: spaceToProto(s.ActionSpace), MaxEpisodeSteps: int64(s.MaxEpisodeSteps),
		RewardThreshold: s.RewardThreshold, RenderModes: s.RenderModes}
}

func specFromProto(p *envv1.Spec, plugin string) Spec {
	s := Spec{ID: p.GetId(), ObservationSpace: spaceFromProto(p.GetObservationSpace()),
		ActionSpace: spaceFromProto(p.GetActionSpace()), MaxEpisodeSteps: int(p.GetMaxEpisodeSteps()),
		RenderModes: p.GetRenderModes(), Plugin: plugin}
	if p.RewardThreshold != nil {
		v := *p.RewardThreshold
		s.RewardThreshold = &v
	}
	return s
}

func infoToProto(in Info) (*envv1.Info, error) {
	out := &envv1.Info{Fields: make(map[string]*envv1.Value, len(in))}
	for k, x := range in {
		v, err := valueToProto(x)
		if err != nil {
			return nil, fmt.Errorf("info key %q: %w", k, err)
		}
		out.Fields[k] = v
	}
	return out, nil
}

func valueToProto(x any) (*envv1.Value, error) {
	switch x := x.(type) {
	case float64:
		return &envv1.Value{Kind: &envv1.Value_DoubleValue{DoubleValue: x}}, nil
	case float32:
		return &envv1.Value{Kind: &envv1.Value_DoubleValue{DoubleValue: float64(x)}}, nil
	case int64:
		return &envv1.Value{Kind: &envv1.Value_IntValue{IntValue: x}}, nil
	case int:
		return &envv1.Value{Kind: &envv1.Value_IntValue{IntValue: int64(x)}}, nil
	case int32:
		return &envv1.Value{Kind: &envv1.Value_IntValue{IntValue: int64(x)}}, nil
	case int8:
		return &envv1.Value{Kind: &envv1.Value_IntValue{IntValue: int64(x)}}, nil
	case bool:
		return &envv1.Value{Kind: &envv1.Value_BoolValue{BoolValue: x}}, nil
	case string:
		return &envv1.Value{Kind: &envv1.Value_StringValue{StringValue: x}}, nil
	case []float64:
		return &envv1.Value{Kind: &envv1.Value_DoubleList{DoubleList: &envv1.DoubleList{Values: x}}}, nil
	case []int64:
		return &envv1.Value{Kind: &envv1.Value_IntList{IntList: &envv1.IntList{Values: x}}}, nil
	case []int8:
		vs := make([]int64, len(x))
		for i, e := range x {
			vs[i] = int64(e)
		}
		return &envv1.Value{Kind: &envv1.Value_IntList{IntList: &envv1.IntList{Values: vs}}}, nil
	case []int:
		vs := make([]int64, len(x))
		for i, e := range x {
			vs[i] = int64(e)
		}
		return &envv1.Value{Kind: &envv1.Value_IntList{IntList: &envv1.IntList{Values: vs}}}, nil
	case []bool:
		return &envv1.Value{Kind: &envv1.Value_BoolList{BoolList: &envv1.BoolList{Values: x}}}, nil
	case Info:
		in, err := infoToProto(x)
		if err != nil {
			return nil, err
		}
		return &envv1.Value{Kind: &envv1.Value_Info{Info: in}}, nil
	case map[string]any:
		return valueToProto(Info(x))
	}
	return nil, fmt.Errorf("unsupported info value type %T", x)
}

func infoFromProto(p *envv1.Info) Info {
	if p == nil {
		return nil
	}
	out := make(Info, len(p.Fields))
	for k, v := range p.Fields {
		out[k] = valueFromProto(v)
	}
	return out
}

func valueFromProto(v *envv1.Value) any {
	switch k := v.GetKind().(type) {
	case *envv1.Value_DoubleValue:
		return k.DoubleValue
	case *envv1.Value_IntValue:
		return k.IntValue
	case *envv1.Value_BoolValue:
		return k.BoolValue
	case *envv1.Value_StringValue:
		return k.StringValue
	case *envv1.Value_DoubleList:
		return k.DoubleList.GetValues()
	case *envv1.Value_IntList:
		return k.IntList.GetValues()
	case *envv1.Value_BoolList:
		return k.BoolList.GetValues()
	case *envv1.Value_Info:
		return infoFromProto(k.Info)
	}
	return nil
}

// batchToProto fills p from b, aliasing b's slices: p must be sent before
// the vector is stepped again.
func batchToProto(b *Batch, p *envv1.Batch) error {
	p.Obs, p.Rewards, p.Terminated, p.Truncated = b.Obs, b.Rewards, b.Terminated, b.Truncated
	p.Infos = p.Infos[:0]
	p.Error = nil
	for i, in := range b.Infos {
		pi, err := infoToProto(in)
		if err != nil {
			return fmt.Errorf("sub-env %d: %w", i, err)
		}
		p.Infos = append(p.Infos, pi)
	}
	return nil
}

// marshalJSONMap encodes kwargs or reset options for the wire.
func marshalJSONMap(m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// unmarshalJSONMap decodes kwargs or options, turning integral numbers into
// int64 and the rest into float64 so that factories see the types Kwargs
// documents.
func unmarshalJSONMap(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = fixNumbers(v)
	}
	return m, nil
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return math.NaN()
		}
		return f
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	}
	return v
}

// Error kinds carried across the wire so that the host can rebuild the
// sentinel errors.
var errorKinds = []struct {
	kind string
	err  error
}{
	{"bad_action", ErrBadAction},
	{"reset_needed", ErrResetNeeded},
	{"bad_kwargs", ErrBadKwargs},
	{"unknown_env", ErrUnknownEnv},
	{"stale_step", ErrStaleStep},
}

func errorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return ""
}

func sentinelOf(kind string) error {
	for _, k := range errorKinds {
		if k.kind == kind {
			return k.err
		}
	}
	return nil
}

// remoteError is an error that happened inside the plugin, rebuilt on the
// host: it keeps the plugin's message and unwraps to the matching sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
