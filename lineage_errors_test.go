package goray

import (
	"errors"
	"strings"
	"testing"

	grt "github.com/goray/goray/runtime"
)

// A ref whose owner node died fails with an OwnerDiedError naming the
// object; an argument that failed so fails its task with that cause.
func TestOwnerDiedError(t *testing.T) {
	id := grt.ObjectID{1, 2, 3}
	info := &grt.ErrorInfo{Kind: grt.ErrKindOwnerDied, ObjectID: id, Message: "the owner node n1 died"}
	err := fromInfo(info)
	var od *OwnerDiedError
	if !errors.As(err, &od) || od.ID != ObjectID(id) || !errors.Is(err, ErrOwnerDied) || errors.Is(err, ErrObjectLost) {
		t.Fatalf("owner died: %#v", err)
	}
	if !strings.Contains(err.Error(), "n1 died") {
		t.Fatalf("message %q does not say why", err)
	}
	arg := fromInfo(&grt.ErrorInfo{Kind: grt.ErrKindApp, Task: "f", Message: "argument 0 failed", Cause: info})
	var te *TaskError
	if !errors.As(arg, &te) || !errors.Is(arg, ErrOwnerDied) || !errors.As(arg, &od) {
		t.Fatalf("argument whose owner died: %#v", arg)
	}
}
