package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds one node's collectors.
type Metrics struct {
	reg *prometheus.Registry

	TasksByState      *prometheus.GaugeVec
	TasksFinished     *prometheus.CounterVec
	SchedulingLatency prometheus.Histogram
	ActorsByState     *prometheus.GaugeVec

	ObjectStoreBytes   prometheus.Gauge
	ObjectStoreObjects prometheus.Gauge
	SpilledBytes       prometheus.Counter
	RestoredBytes      prometheus.Counter
	Transfers          *prometheus.CounterVec
	TransferBytes      *prometheus.CounterVec

	ResourcesTotal     *prometheus.GaugeVec
	ResourcesAvailable *prometheus.GaugeVec
	GossipMembers      *prometheus.GaugeVec
	// PendingDemand counts the requests waiting for resources on the node
	// by resource shape, and PendingResources adds up what they ask for
	// by resource (Ray's autoscaler_pending_resources). Set with
	// SetPendingDemand.
	PendingDemand    *prometheus.GaugeVec
	PendingResources *prometheus.GaugeVec

	EnvSteps       prometheus.Counter
	LearnerSamples prometheus.Counter
	TrialsByState  *prometheus.GaugeVec
	JobsByState    *prometheus.GaugeVec
}

// New makes the collectors for node, registered in a fresh registry
// together with the Go runtime and process collectors.
func New(node string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Everything goray defines carries the node label and is registered as
	// it is made, so a new collector cannot be left out of the registry.
	f := promauto.With(prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, reg))
	m := &Metrics{
		reg: reg,
		TasksByState: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_tasks", Help: "Tasks on this node by state and function.",
		}, []string{"state", "name"}),
		TasksFinished: f.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_tasks_finished_total", Help: "Tasks that finished, by outcome.",
		}, []string{"outcome"}),
		SchedulingLatency: f.NewHistogram(prometheus.HistogramOpts{
			Name: "goray_scheduling_latency_seconds", Help: "Time from task submission to start on a worker.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}),
		ActorsByState: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_actors", Help: "Actors by state and class.",
		}, []string{"state", "class"}),
		ObjectStoreBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "goray_object_store_bytes", Help: "Bytes held in the node's shared-memory object store.",
		}),
		ObjectStoreObjects: f.NewGauge(prometheus.GaugeOpts{
			Name: "goray_object_store_objects", Help: "Objects in the node's object store.",
		}),
		SpilledBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "goray_object_store_spilled_bytes_total", Help: "Bytes spilled to disk.",
		}),
		RestoredBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "goray_object_store_restored_bytes_total", Help: "Bytes restored from disk.",
		}),
		Transfers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_object_transfers_total", Help: "Objects pulled from or pushed to other nodes.",
		}, []string{"direction"}),
		TransferBytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_object_transfer_bytes_total", Help: "Bytes moved between nodes.",
		}, []string{"direction"}),
		ResourcesTotal: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_resources_total", Help: "The node's total resources.",
		}, []string{"resource"}),
		ResourcesAvailable: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_resources_available", Help: "The node's available resources.",
		}, []string{"resource"}),
		GossipMembers: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_gossip_members", Help: "Cluster members this node sees, by state.",
		}, []string{"state"}),
		EnvSteps: f.NewCounter(prometheus.CounterOpts{
			Name: "goray_rllib_env_steps_total", Help: "Env steps sampled by rollout workers (rate() gives steps/s).",
		}),
		LearnerSamples: f.NewCounter(prometheus.CounterOpts{
			Name: "goray_rllib_learner_samples_total", Help: "Samples trained on by learners (rate() gives samples/s).",
		}),
		TrialsByState: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_tune_trials", Help: "Tune trials by state.",
		}, []string{"state"}),
		PendingDemand: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_pending_demand",
			Help: "Requests waiting for resources on this node (queued tasks, actors to place, placement group bundles), by resource shape.",
		}, []string{"shape"}),
		PendingResources: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_pending_resources", Help: "Resources asked for by the requests waiting on this node, by resource.",
		}, []string{"resource"}),
		JobsByState: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_jobs", Help: "Jobs by state.",
		}, []string{"state"}),
	}
	return m
}

// Registry returns the registry, for tests and for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveScheduling records the time a task waited between submission and
// start.
func (m *Metrics) ObserveScheduling(d time.Duration) {
	if m == nil {
		return
	}
	m.SchedulingLatency.Observe(d.Seconds())
}

// TaskState moves one task of function name from state from to state to;
// an empty from means a new task.
func (m *Metrics) TaskState(name, from, to string) {
	if m == nil {
		return
	}
	if from != "" {
		m.TasksByState.WithLabelValues(from, name).Dec()
	}
	if to != "" {
		m.TasksByState.WithLabelValues(to, name).Inc()
	}
}

// ActorState moves one actor of class from state from to state to.
func (m *Metrics) ActorState(class, from, to string) {
	if m == nil {
		return
	}
	if from != "" {
		m.ActorsByState.WithLabelValues(from, class).Dec()
	}
	if to != "" {
		m.ActorsByState.WithLabelValues(to, class).Inc()
	}
}

// SetResources publishes a node's total and available resources.
func (m *Metrics) SetResources(total, avail map[string]float64) {
	if m == nil {
		return
	}
	for k, v := range total {
		m.ResourcesTotal.WithLabelValues(k).Set(v)
	}
	for k, v := range avail {
		m.ResourcesAvailable.WithLabelValues(k).Set(v)
	}
}

// AddEnvSteps counts sampled env steps.
func (m *Metrics) AddEnvSteps(n int) {
	if m == nil {
		return
	}
	m.EnvSteps.Add(float64(n))
}

// AddLearnerSamples counts trained samples.
func (m *Metrics) AddLearnerSamples(n int) {
	if m == nil {
		return
	}
	m.LearnerSamples.Add(float64(n))
}

// TaskStarted records how long a task waited between reaching its node and
// starting on a worker (runtime.TaskObserver).
func (m *Metrics) TaskStarted(_ string, wait time.Duration) { m.ObserveScheduling(wait) }

// TaskFinished counts a task that succeeded or failed for good
// (runtime.TaskObserver).
func (m *Metrics) TaskFinished(_ string, failed bool) {
	if m == nil {
		return
	}
	outcome := "succeeded"
	if failed {
		outcome = "failed"
	}
	m.TasksFinished.WithLabelValues(outcome).Inc()
}
