package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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

	EnvSteps       prometheus.Counter
	LearnerSamples prometheus.Counter
	TrialsByState  *prometheus.GaugeVec
	JobsByState    *prometheus.GaugeVec
}

// New makes the collectors for node, registered in a fresh registry
// together with the Go runtime and process collectors.
func New(node string) *Metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"node": node}
	m := &Metrics{
		reg: reg,
		TasksByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_tasks", Help: "Tasks on this node by state and function.", ConstLabels: labels,
		}, []string{"state", "name"}),
		TasksFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_tasks_finished_total", Help: "Tasks that finished, by outcome.", ConstLabels: labels,
		}, []string{"outcome"}),
		SchedulingLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "goray_scheduling_latency_seconds", Help: "Time from task submission to start on a worker.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}),
		ActorsByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_actors", Help: "Actors by state and class.", ConstLabels: labels,
		}, []string{"state", "class"}),
		ObjectStoreBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "goray_object_store_bytes", Help: "Bytes held in the node's shared-memory object store.", ConstLabels: labels,
		}),
		ObjectStoreObjects: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "goray_object_store_objects", Help: "Objects in the node's object store.", ConstLabels: labels,
		}),
		SpilledBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goray_object_store_spilled_bytes_total", Help: "Bytes spilled to disk.", ConstLabels: labels,
		}),
		RestoredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goray_object_store_restored_bytes_total", Help: "Bytes restored from disk.", ConstLabels: labels,
		}),
		Transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_object_transfers_total", Help: "Objects pulled from or pushed to other nodes.", ConstLabels: labels,
		}, []string{"direction"}),
		TransferBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goray_object_transfer_bytes_total", Help: "Bytes moved between nodes.", ConstLabels: labels,
		}, []string{"direction"}),
		ResourcesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_resources_total", Help: "The node's total resources.", ConstLabels: labels,
		}, []string{"resource"}),
		ResourcesAvailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_resources_available", Help: "The node's available resources.", ConstLabels: labels,
		}, []string{"resource"}),
		GossipMembers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_gossip_members", Help: "Cluster members this node sees, by state.", ConstLabels: labels,
		}, []string{"state"}),
		EnvSteps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goray_rllib_env_steps_total", Help: "Env steps sampled by rollout workers (rate() gives steps/s).", ConstLabels: labels,
		}),
		LearnerSamples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goray_rllib_learner_samples_total", Help: "Samples trained on by learners (rate() gives samples/s).", ConstLabels: labels,
		}),
		TrialsByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_tune_trials", Help: "Tune trials by state.", ConstLabels: labels,
		}, []string{"state"}),
		JobsByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "goray_jobs", Help: "Jobs by state.", ConstLabels: labels,
		}, []string{"state"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.TasksByState, m.TasksFinished, m.SchedulingLatency, m.ActorsByState,
		m.ObjectStoreBytes, m.ObjectStoreObjects, m.SpilledBytes, m.RestoredBytes, m.Transfers, m.TransferBytes,
		m.ResourcesTotal, m.ResourcesAvailable, m.GossipMembers,
		m.EnvSteps, m.LearnerSamples, m.TrialsByState, m.JobsByState,
	)
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
