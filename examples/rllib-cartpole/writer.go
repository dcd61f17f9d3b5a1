package main

import (
	"os"

	"github.com/goray/goray/libs/rllib"
)

func newWriter(dir string) (*rllib.ResultWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return rllib.NewResultWriter(dir)
}
