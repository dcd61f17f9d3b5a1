package remote

// Timings of the name directory and of the creator check, exported to the
// external tests (names_falsedeath_test.go, names_window_test.go) so that
// the windows they aim at follow the production constants instead of
// copies that could go stale.
const (
	CreatorGraceForTest        = creatorGrace
	CreatorProbeTimeoutForTest = creatorProbeTimeout
	NameSettleForTest          = nameSettle
)
