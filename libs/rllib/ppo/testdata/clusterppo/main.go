// Command clusterppo is the driver of ppo's cluster failover test. It
// connects to a gorayd cluster (GORAY_ADDRESS), trains PPO on CartPole-v1
// with 6 rollout workers × 1 env, placed through a SPREAD placement group,
// and prints one line per iteration:
//
//	iter <n> <num_healthy_workers> <num_remote_worker_restarts> <timesteps_total> <seconds> <node,node,...>
//
// where the nodes are those of the 6 workers. After iteration 2 it prints
// "ready" and waits for a line on stdin (the test SIGKILLs a node and
// waits for the cluster to declare it dead), then trains to iteration 6.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
)

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterppo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rt, err := goray.Init(ctx, goray.Config{Logger: log})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	ctx = goray.WithRuntime(ctx, rt)
	fmt.Println("driver_node", goray.NodeID(ctx))

	cfg := ppo.NewConfig().
		Environment("CartPole-v1", nil).
		Rollouts(rllib.Rollouts{NumRolloutWorkers: 6, NumEnvsPerWorker: 1, RecreateFailedWorkers: true}).
		// 3 nodes × 2 CPUs: a 0.5-CPU driver bundle and six 0.5-CPU worker
		// bundles leave room to place a dead node's bundles again on the
		// two survivors.
		Resources(rllib.Resources{NumCPUsPerWorker: 0.5, NumCPUsForLocalWorker: 0.5, PlacementStrategy: rllib.Spread}).
		Training(ppo.Training{TrainBatchSize: 600, SgdMinibatchSize: 128, NumSgdIter: 2, Model: rllib.Model{FcnetHiddens: []int{32, 32}}}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(3)})
	cfg.Logger = log
	algo, err := cfg.Build(ctx)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer algo.Stop(context.Background())
	for i := 1; i <= 6; i++ {
		res, err := algo.Train(ctx)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", i, err)
		}
		nodes, err := algo.WorkerNodes(ctx)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", i, err)
		}
		fmt.Printf("iter %d %d %d %d %.3f %s\n", res.TrainingIteration, res.NumHealthyWorkers, res.NumRemoteWorkerRestarts,
			res.TimestepsTotal, res.TimeThisIterS, strings.Join(nodes, ","))
		if i == 2 {
			fmt.Println("ready")
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
		}
	}
	return nil
}
