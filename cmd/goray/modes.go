package main

// helperModes are the ways the goray binary is re-executed by itself: as a
// task worker, as the built-in env plugin, ... Each mode's file appends a
// function that returns handled=true when the process was started in its mode
// (it then runs the mode to completion and returns the exit code).
var helperModes []func() (code int, handled bool)

func maybeRunHelperMode() (int, bool) {
	for _, m := range helperModes {
		if code, ok := m(); ok {
			return code, true
		}
	}
	return 0, false
}
