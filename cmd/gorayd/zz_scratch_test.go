package main_test

import (
	"context"
	"testing"
	"time"
	"strings"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/jobs"
)

func TestScratchBusy(t *testing.T) {
	c := jobCluster(t, 1, false)
	ctx := context.Background()
	jc := client(t, c, 0, testToken)
	spec, _ := jobs.LoadFile(holderJob(t, "busy", "busy"))
	info, err := jc.Submit(ctx, spec)
	if err != nil { t.Fatal(err) }
	testutil.WaitFor(t, 60*time.Second, func() bool { return strings.Contains(logs(t, jc, info.ID), "task pid") }, "task up")
	testutil.WaitFor(t, 5*time.Second, func() bool { return selfCPU(c, 0) == 1 }, "1 cpu used")
	if _, err := jc.Stop(ctx, info.ID); err != nil { t.Fatal(err) }
	t.Log(logs(t, jc, info.ID))
	ok, _ := testutil.Eventually(5*time.Second, func() bool { return selfCPU(c, 0) == 2 })
	t.Logf("cpu freed: %v (avail %v)", ok, selfCPU(c, 0))
}
