package envs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

// errorDomain tags the ErrorInfo detail of goray.env.v1 status errors.
const errorDomain = "goray.env.v1"

// NewServer returns the plugin-side goray.env.v1 service over factories:
// each MakeVector builds an in-process vector (NewVector), so the TimeLimit,
// reset ordering and autoreset rules are the same on both paths. The SDK's
// Serve wraps it; it is exported for hosts that embed a plugin server in
// tests or in their own go-plugin setup.
func NewServer(factories map[string]Factory, logger *slog.Logger) envv1.EnvServiceServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &server{factories: factories, logger: logger, vectors: map[uint64]*serverVector{}}
}

type server struct {
	envv1.UnimplementedEnvServiceServer
	factories map[string]Factory
	logger    *slog.Logger

	mu      sync.Mutex
	next    uint64
	vectors map[uint64]*serverVector
}

// serverVector serialises calls on one vector: the in-process vector is
// not safe for concurrent use and its Batch is reused.
type serverVector struct {
	mu     sync.Mutex
	vec    VectorEnv
	out    envv1.Batch
	closed bool // CloseVector ran; the shm goroutine must not step
	// epoch is the step epoch of the last reset that carried one; steps
	// from an older epoch are dropped (see StepRequest.epoch).
	epoch uint64

	// fastMu guards fast, apart from mu: stopping the shm goroutine waits
	// for a step it is running, which holds mu.
	fastMu sync.Mutex
	fast   *shmServer // the attached shm/1 channel, if any
}

// attach connects the vector to the host's fast transport offer, replacing
// the channel it had. It returns the transport attached ("" for none).
func (sv *serverVector) attach(ft *envv1.FastTransport, logger *slog.Logger, id string) string {
	if ft == nil || !slices.Contains(ft.GetTransports(), TransportShm) {
		return ""
	}
	sv.fastMu.Lock()
	defer sv.fastMu.Unlock()
	if sv.fast != nil {
		sv.fast.stop()
		sv.fast = nil
	}
	spec := sv.vec.Spec()
	n := sv.vec.NumEnvs()
	fast, err := attachShmServer(ft, sv, n, n*spec.ObservationSpace.FlatDim(), n*spec.ActionSpace.FlatDim())
	if err != nil {
		logger.Warn("env plugin: shm transport unavailable, stepping over gRPC", "env", id, "err", err)
		return ""
	}
	sv.fast = fast
	return TransportShm
}

// staleLocked refuses a step that belongs to an epoch before the vector's
// last reset: it was sent before that reset and only arrived after it.
func (sv *serverVector) staleLocked(req *envv1.StepRequest) error {
	if e := req.GetEpoch(); e != 0 && e != sv.epoch {
		return fmt.Errorf("%w: step of epoch %d dropped, the vector was reset into epoch %d", ErrStaleStep, e, sv.epoch)
	}
	return nil
}

// detach stops the fast channel, if any.
func (sv *serverVector) detach() {
	sv.fastMu.Lock()
	defer sv.fastMu.Unlock()
	if sv.fast != nil {
		sv.fast.stop()
		sv.fast = nil
	}
}

// statusError turns an env error into a gRPC status that carries its
// sentinel kind, so the host can rebuild errors.Is-able errors.
func statusError(err error) error {
	code := codes.Internal
	kind := errorKind(err)
	switch kind {
	case "unknown_env":
		code = codes.NotFound
	case "bad_action", "bad_kwargs":
		code = codes.InvalidArgument
	case "reset_needed", "stale_step":
		code = codes.FailedPrecondition
	}
	st := status.New(code, innerMessage(err))
	if kind != "" {
		if d, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: kind, Domain: errorDomain}); derr == nil {
			st = d
		}
	}
	return st.Err()
}

func (s *server) ListEnvs(context.Context, *envv1.ListEnvsRequest) (*envv1.ListEnvsResponse, error) {
	ids := make([]string, 0, len(s.factories))
	for id := range s.factories {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	resp := &envv1.ListEnvsResponse{}
	for _, id := range ids {
		spec, err := SpecOf(id, s.factories[id])
		if err != nil {
			return nil, statusError(err)
		}
		resp.Specs = append(resp.Specs, specToProto(spec))
	}
	return resp, nil
}

// SpecOf makes one env with default kwargs to read its spec, then closes
// it. A spec without an ID gets id.
func SpecOf(id string, f Factory) (Spec, error) {
	e, err := f(nil)
	if err != nil {
		return Spec{}, &EnvError{ID: id, Err: fmt.Errorf("make with default kwargs: %w", err)}
	}
	spec := e.Spec()
	_ = e.Close()
	spec.ID = id
	return spec, nil
}

func (s *server) MakeVector(_ context.Context, req *envv1.MakeVectorRequest) (*envv1.MakeVectorResponse, error) {
	f, ok := s.factories[req.GetId()]
	if !ok {
		return nil, statusError(&EnvError{ID: req.GetId(), Err: ErrUnknownEnv})
	}
	kw, err := unmarshalJSONMap(req.GetKwargsJson())
	if err != nil {
		return nil, statusError(&EnvError{ID: req.GetId(), Err: fmt.Errorf("%w: kwargs JSON: %v", ErrBadKwargs, err)})
	}
	vec, err := NewVector(f, VectorConfig{ID: req.GetId(), NumEnvs: int(req.GetNumEnvs()), Kwargs: kw,
		Mode: AutoresetMode(req.GetAutoresetMode()), NoInfos: req.GetNoInfos()})
	if err != nil {
		return nil, statusError(err)
	}
	sv := &serverVector{vec: vec}
	spec := vec.Spec()
	spec.ID = req.GetId()
	// The channel is up (connected, hello sent) before we answer, so the
	// host can accept it as soon as it reads the response.
	transport := sv.attach(req.GetFastTransport(), s.logger, req.GetId())
	s.mu.Lock()
	s.next++
	id := s.next
	s.vectors[id] = sv
	s.mu.Unlock()
	s.logger.Debug("env vector made", "env", req.GetId(), "num_envs", req.GetNumEnvs(), "vector", id, "transport", transport)
	return &envv1.MakeVectorResponse{VectorId: id, Spec: specToProto(spec), Transport: transport}, nil
}

func (s *server) vector(id uint64) (*serverVector, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vectors[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no env vector %d (closed, or made by another plugin process)", id)
	}
	return v, nil
}

func (s *server) Reset(ctx context.Context, req *envv1.ResetRequest) (*envv1.Batch, error) {
	v, err := s.vector(req.GetVectorId())
	if err != nil {
		return nil, err
	}
	opts, err := unmarshalJSONMap(req.GetOptionsJson())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "reset options JSON: %v", err)
	}
	var seeds []int64
	if req.GetHasSeeds() {
		seeds = req.GetSeeds()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// The epoch moves even when the reset fails: the host numbers its
	// steps from this reset either way, and steps sent before it are stale
	// whatever its outcome.
	if e := req.GetEpoch(); e != 0 {
		v.epoch = e
	}
	b, err := v.vec.Reset(ctx, seeds, opts)
	if err != nil {
		return nil, statusError(err)
	}
	return unaryBatch(b)
}

func (s *server) Step(ctx context.Context, req *envv1.StepRequest) (*envv1.Batch, error) {
	v, err := s.vector(req.GetVectorId())
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.staleLocked(req); err != nil {
		return nil, statusError(err)
	}
	b, err := v.vec.Step(ctx, req.GetActions())
	if err != nil {
		return nil, statusError(err)
	}
	return unaryBatch(b)
}

// unaryBatch copies b into a fresh message: unary responses are marshalled
// after the handler returns and unlocks, so they must not alias the
// vector's buffers.
func unaryBatch(b *Batch) (*envv1.Batch, error) {
	out := &envv1.Batch{}
	if err := batchToProto(b, out); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	out.Obs = append([]float64(nil), out.Obs...)
	out.Rewards = append([]float64(nil), out.Rewards...)
	out.Terminated = append([]bool(nil), out.Terminated...)
	out.Truncated = append([]bool(nil), out.Truncated...)
	return out, nil
}

// StepStream answers each request with one Batch. Env errors travel in
// Batch.error so that one bad action does not tear the stream down.
func (s *server) StepStream(stream grpc.BidiStreamingServer[envv1.StepRequest, envv1.Batch]) error {
	ctx := stream.Context()
	req := &envv1.StepRequest{}
	for {
		req.Reset()
		if err := stream.RecvMsg(req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		v, err := s.vector(req.GetVectorId())
		if err != nil {
			return err
		}
		v.mu.Lock()
		b, err := (*Batch)(nil), v.staleLocked(req)
		if err == nil {
			b, err = v.vec.Step(ctx, req.GetActions())
		}
		out := &v.out
		if err != nil {
			*out = envv1.Batch{Error: &envv1.Error{Kind: errorKind(err), Message: innerMessage(err)}}
		} else if err := batchToProto(b, out); err != nil {
			*out = envv1.Batch{Error: &envv1.Error{Message: err.Error()}}
		}
		// Send marshals synchronously, so aliasing the vector's buffers
		// is safe while we hold its lock.
		err = stream.Send(out)
		v.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (s *server) Render(ctx context.Context, req *envv1.RenderRequest) (*envv1.RenderResponse, error) {
	v, err := s.vector(req.GetVectorId())
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	r, err := v.vec.Render(ctx, int(req.GetIndex()), req.GetMode())
	if err != nil {
		return nil, statusError(err)
	}
	return &envv1.RenderResponse{Text: r.Text, Width: int64(r.Width), Height: int64(r.Height), Rgb: r.RGB}, nil
}

func (s *server) CloseVector(_ context.Context, req *envv1.CloseVectorRequest) (*envv1.CloseVectorResponse, error) {
	s.mu.Lock()
	v, ok := s.vectors[req.GetVectorId()]
	delete(s.vectors, req.GetVectorId())
	s.mu.Unlock()
	if !ok {
		return &envv1.CloseVectorResponse{}, nil
	}
	v.detach() // before taking v.mu: a step in flight finishes first
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if err := v.vec.Close(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &envv1.CloseVectorResponse{}, nil
}

func (s *server) AttachFastTransport(_ context.Context, req *envv1.AttachFastTransportRequest) (*envv1.AttachFastTransportResponse, error) {
	v, err := s.vector(req.GetVectorId())
	if err != nil {
		return nil, err
	}
	return &envv1.AttachFastTransportResponse{Transport: v.attach(req.GetFastTransport(), s.logger, "")}, nil
}

// innerMessage drops the EnvError prefix: the host wraps the message in its
// own EnvError, which names the plugin too.
func innerMessage(err error) string {
	var ee *EnvError
	if errors.As(err, &ee) && ee.Err != nil {
		return ee.Err.Error()
	}
	return err.Error()
}
