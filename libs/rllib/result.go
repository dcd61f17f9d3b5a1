package rllib

import (
	"encoding/json"
	"math"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null (RLlib reports
// NaN for episode stats before the first episode ends; JSON has no NaN).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler; null decodes to NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// EpisodeStats are RLlib's summarize_episodes keys over a window of
// completed episodes.
type EpisodeStats struct {
	EpisodeRewardMax  Float     `json:"episode_reward_max"`
	EpisodeRewardMin  Float     `json:"episode_reward_min"`
	EpisodeRewardMean Float     `json:"episode_reward_mean"`
	EpisodeLenMean    Float     `json:"episode_len_mean"`
	EpisodesThisIter  int       `json:"episodes_this_iter"`
	HistStats         HistStats `json:"hist_stats"`
}

// HistStats holds the windowed per-episode values.
type HistStats struct {
	EpisodeReward  []float64 `json:"episode_reward"`
	EpisodeLengths []int     `json:"episode_lengths"`
}

// LearnerStats are the policy's learner_stats (PPO's names).
type LearnerStats struct {
	CurKLCoeff     float64 `json:"cur_kl_coeff"`
	CurLr          float64 `json:"cur_lr"`
	TotalLoss      float64 `json:"total_loss"`
	PolicyLoss     float64 `json:"policy_loss"`
	VfLoss         float64 `json:"vf_loss"`
	VfExplainedVar Float   `json:"vf_explained_var"`
	KL             float64 `json:"kl"`
	Entropy        float64 `json:"entropy"`
	EntropyCoeff   float64 `json:"entropy_coeff"`
}

// PolicyInfo is info.learner.<policy_id>.
type PolicyInfo struct {
	LearnerStats           LearnerStats       `json:"learner_stats"`
	CustomMetrics          map[string]float64 `json:"custom_metrics"`
	NumAgentStepsTrained   float64            `json:"num_agent_steps_trained"`
	NumGradUpdatesLifetime int64              `json:"num_grad_updates_lifetime"`
}

// Info is the result's info dict.
type Info struct {
	Learner              map[string]PolicyInfo `json:"learner"`
	NumEnvStepsSampled   int64                 `json:"num_env_steps_sampled"`
	NumEnvStepsTrained   int64                 `json:"num_env_steps_trained"`
	NumAgentStepsSampled int64                 `json:"num_agent_steps_sampled"`
	NumAgentStepsTrained int64                 `json:"num_agent_steps_trained"`
}

// Timers are RLlib's timers dict: mean times in ms and throughputs in
// steps per second for this iteration.
type Timers struct {
	TrainingIterationTimeMs float64 `json:"training_iteration_time_ms"`
	SampleTimeMs            float64 `json:"sample_time_ms"`
	SampleThroughput        float64 `json:"sample_throughput"`
	LoadTimeMs              float64 `json:"load_time_ms"`
	LoadThroughput          float64 `json:"load_throughput"`
	LearnTimeMs             float64 `json:"learn_time_ms"`
	LearnThroughput         float64 `json:"learn_throughput"`
	SynchWeightsTimeMs      float64 `json:"synch_weights_time_ms"`
}

// Counters are the lifetime step counters.
type Counters struct {
	NumEnvStepsSampled   int64 `json:"num_env_steps_sampled"`
	NumEnvStepsTrained   int64 `json:"num_env_steps_trained"`
	NumAgentStepsSampled int64 `json:"num_agent_steps_sampled"`
	NumAgentStepsTrained int64 `json:"num_agent_steps_trained"`
}

// EvalResult is result["evaluation"]: episode stats of the evaluation run.
type EvalResult struct {
	EpisodeStats
	// NumEnvStepsSampledThisIter counts the evaluation's env steps.
	NumEnvStepsSampledThisIter int64 `json:"num_env_steps_sampled_this_iter"`
}

// Result is one train() result with RLlib's old-stack keys, plus the keys
// Tune adds. JSON names are RLlib's exactly.
type Result struct {
	EpisodeStats
	EpisodesTotal int64 `json:"episodes_total"`

	NumHealthyWorkers       int `json:"num_healthy_workers"`
	NumInFlightAsyncReqs    int `json:"num_in_flight_async_reqs"`
	NumRemoteWorkerRestarts int `json:"num_remote_worker_restarts"`

	NumAgentStepsSampled       int64 `json:"num_agent_steps_sampled"`
	NumAgentStepsTrained       int64 `json:"num_agent_steps_trained"`
	NumEnvStepsSampled         int64 `json:"num_env_steps_sampled"`
	NumEnvStepsTrained         int64 `json:"num_env_steps_trained"`
	NumEnvStepsSampledThisIter int64 `json:"num_env_steps_sampled_this_iter"`
	NumEnvStepsTrainedThisIter int64 `json:"num_env_steps_trained_this_iter"`
	NumStepsTrainedThisIter    int64 `json:"num_steps_trained_this_iter"`
	TimestepsTotal             int64 `json:"timesteps_total"`
	AgentTimestepsTotal        int64 `json:"agent_timesteps_total"`

	Counters Counters `json:"counters"`
	Info     Info     `json:"info"`
	Timers   Timers   `json:"timers"`

	Evaluation *EvalResult `json:"evaluation,omitempty"`

	// The keys Tune's Trainable.train adds.
	TrainingIteration      int     `json:"training_iteration"`
	TimeThisIterS          float64 `json:"time_this_iter_s"`
	TimeTotalS             float64 `json:"time_total_s"`
	TimeSinceRestore       float64 `json:"time_since_restore"`
	TimestepsSinceRestore  int64   `json:"timesteps_since_restore"`
	IterationsSinceRestore int     `json:"iterations_since_restore"`
	Timestamp              int64   `json:"timestamp"`
	Date                   string  `json:"date"`
	Done                   bool    `json:"done"`
	PID                    int     `json:"pid"`
	Hostname               string  `json:"hostname"`
	NodeIP                 string  `json:"node_ip"`
}

// DefaultPolicyID is the single policy's ID in info.learner.
const DefaultPolicyID = "default_policy"

// EpisodeWindow keeps the last Size completed episodes (RLlib's
// metrics_num_episodes_for_smoothing, 100) for the episode stats.
type EpisodeWindow struct {
	Size    int       `json:"size"`
	Rewards []float64 `json:"rewards"`
	Lengths []int     `json:"lengths"`
	Total   int64     `json:"total"`
}

// NewEpisodeWindow returns a window of size n.
func NewEpisodeWindow(n int) *EpisodeWindow { return &EpisodeWindow{Size: n} }

// Add records one completed episode.
func (w *EpisodeWindow) Add(reward float64, length int) {
	w.Rewards = append(w.Rewards, reward)
	w.Lengths = append(w.Lengths, length)
	if over := len(w.Rewards) - w.Size; over > 0 {
		w.Rewards = append(w.Rewards[:0], w.Rewards[over:]...)
		w.Lengths = append(w.Lengths[:0], w.Lengths[over:]...)
	}
	w.Total++
}

// Stats summarises the window; thisIter is the number of episodes that
// completed in this iteration. With no episodes the stats are NaN, as
// RLlib's.
func (w *EpisodeWindow) Stats(thisIter int) EpisodeStats {
	return SummarizeEpisodes(w.Rewards, w.Lengths, thisIter)
}

// SummarizeEpisodes computes the episode stats of the given episodes.
func SummarizeEpisodes(rewards []float64, lengths []int, thisIter int) EpisodeStats {
	s := EpisodeStats{EpisodesThisIter: thisIter}
	s.HistStats.EpisodeReward = append([]float64{}, rewards...)
	s.HistStats.EpisodeLengths = append([]int{}, lengths...)
	if len(rewards) == 0 {
		nan := Float(math.NaN())
		s.EpisodeRewardMax, s.EpisodeRewardMin, s.EpisodeRewardMean, s.EpisodeLenMean = nan, nan, nan, nan
		return s
	}
	mx, mn := math.Inf(-1), math.Inf(1)
	var sum, lsum float64
	for i, r := range rewards {
		mx, mn = max(mx, r), min(mn, r)
		sum += r
		lsum += float64(lengths[i])
	}
	n := float64(len(rewards))
	s.EpisodeRewardMax, s.EpisodeRewardMin = Float(mx), Float(mn)
	s.EpisodeRewardMean, s.EpisodeLenMean = Float(sum/n), Float(lsum/n)
	return s
}
