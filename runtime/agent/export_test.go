package agent

// Exported for tests in agent_test.
var (
	ParseGPUList = parseGPUList
	KeyLines     = keyLines
)
