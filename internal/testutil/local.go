package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goray/goray/runtime/agent"
)

// LocalCluster is a set of in-process agents: cheaper than NewCluster (no
// build, no processes) for unit tests of code that runs inside gorayd.
type LocalCluster struct {
	t      testing.TB
	opts   clusterOptions
	Agents []*agent.Agent
}

// NewLocalCluster starts n agents in this process on NodeIP(0), NodeIP(1), ...
// with ports picked by the kernel, node i>0 joining node 0, and waits until
// each lists n alive members. Agents shut down (gracefully) in t.Cleanup.
func NewLocalCluster(t testing.TB, n int, opts ...ClusterOption) *LocalCluster {
	t.Helper()
	c := &LocalCluster{t: t, opts: buildOptions(opts)}
	for range n {
		c.Add()
	}
	if !c.opts.noWait {
		c.WaitConverged(n)
	}
	return c
}

// Config returns the config node i gets (before any extra change).
func (c *LocalCluster) Config(i int) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.NodeName = fmt.Sprintf("node%d", i)
	ip := NodeIP(i)
	cfg.Gossip.BindAddr, cfg.RPC.BindAddr, cfg.HTTP.BindAddr = ip, ip, ip
	cfg.Gossip.Port, cfg.RPC.Port, cfg.HTTP.Port = 0, 0, 0
	cfg.Gossip.Preset = c.opts.preset
	cfg.Gossip.EncryptKey = c.opts.encryptKey
	cfg.HTTP.Token = c.opts.token
	cfg.DataDir = c.t.TempDir()
	cfg.Resources.CPU = 2
	cfg.Resources.Memory = 1 << 30
	cfg.Resources.GPU = 0
	cfg.ObjectStore.Memory = 256 << 20
	cfg.Log.Level = "debug"
	if i > 0 && len(c.Agents) > 0 {
		cfg.Join = []string{c.Agents[0].GossipAddr()}
	}
	return cfg
}

// Add starts one more agent with the default config for its index.
func (c *LocalCluster) Add() *agent.Agent {
	c.t.Helper()
	return c.AddConfig(c.Config(len(c.Agents)))
}

// AddConfig starts one more agent with cfg.
func (c *LocalCluster) AddConfig(cfg agent.Config) *agent.Agent {
	c.t.Helper()
	a, err := agent.New(cfg, Logger(c.t, cfg.NodeName))
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	c.Agents = append(c.Agents, a)
	return a
}

// WaitConverged waits until every agent lists want alive members.
func (c *LocalCluster) WaitConverged(want int) time.Duration {
	c.t.Helper()
	return WaitFor(c.t, c.opts.timeout, func() bool {
		for _, a := range c.Agents {
			if len(a.Membership().LiveIDs()) != want {
				return false
			}
		}
		return true
	}, fmt.Sprintf("every agent lists %d alive members", want))
}
