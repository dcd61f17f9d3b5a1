package runtime

import "context"

// Ctx is the context type executors receive; an alias so that the Executor
// interface reads naturally.
type Ctx = context.Context
