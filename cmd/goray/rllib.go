package main

import (
	_ "github.com/goray/goray/libs/rllib/rllibjob" // the [rllib] job library
)
