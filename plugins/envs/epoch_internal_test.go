package envs

import (
	"context"
	"errors"
	"testing"

	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// TestStaleStepDropped plays the race the step epoch closes: a step sent
// before a reset (its call was interrupted, the stream torn down) reaches
// the plugin only after that reset. The plugin must refuse it, with the
// stale_step kind, and leave the new episode untouched; steps of the
// current epoch, and steps from hosts that send no epoch, still run.
func TestStaleStepDropped(t *testing.T) {
	ctx := context.Background()
	srv := NewServer(map[string]Factory{"Tally-v0": newTally}, nil)
	mv, err := srv.MakeVector(ctx, &envv1.MakeVectorRequest{Id: "Tally-v0", NumEnvs: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := mv.GetVectorId()
	defer srv.CloseVector(ctx, &envv1.CloseVectorRequest{VectorId: id})

	if _, err := srv.Reset(ctx, &envv1.ResetRequest{VectorId: id, Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if b, err := srv.Step(ctx, &envv1.StepRequest{VectorId: id, Actions: []float64{2}, Epoch: 1}); err != nil || b.GetObs()[0] != 2 {
		t.Fatalf("step in the current epoch: obs %v, err %v; want obs [2]", b.GetObs(), err)
	}
	if _, err := srv.Reset(ctx, &envv1.ResetRequest{VectorId: id, Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	// The late step of epoch 1.
	_, err = srv.Step(ctx, &envv1.StepRequest{VectorId: id, Actions: []float64{1}, Epoch: 1})
	if err == nil {
		t.Fatal("a step of epoch 1 ran after the reset into epoch 2")
	}
	if k := kindOfStatus(err); k != "stale_step" {
		t.Fatalf("stale step error kind %q (%v), want stale_step", k, err)
	}
	if !errors.Is(sentinelOf("stale_step"), ErrStaleStep) {
		t.Fatal("stale_step does not map back to ErrStaleStep")
	}
	b, err := srv.Step(ctx, &envv1.StepRequest{VectorId: id, Actions: []float64{1}, Epoch: 2})
	if err != nil || b.GetObs()[0] != 1 {
		t.Fatalf("first step of the new episode: obs %v, err %v; want [1] (the stale step must not have run)", b.GetObs(), err)
	}
	// A host from before the field sends epoch 0: never checked.
	if b, err := srv.Step(ctx, &envv1.StepRequest{VectorId: id, Actions: []float64{1}}); err != nil || b.GetObs()[0] != 2 {
		t.Fatalf("step without an epoch: obs %v, err %v; want [2]", b.GetObs(), err)
	}
}

// kindOfStatus reads the goray.env.v1 error kind out of a gRPC status.
func kindOfStatus(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			return info.GetReason()
		}
	}
	return ""
}
