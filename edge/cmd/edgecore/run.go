package main

import (
	"context"
	"os"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

// run builds edgecore's modules from cfg and runs them until ctx ends.
func run(ctx context.Context, cfg *config.EdgeCore) error {
	return daemon.Process{
		Name:    "edgecore",
		Logger:  cfg.Logging.NewLogger(os.Stderr).With("node", cfg.NodeName),
		Bus:     cfg.Bus,
		Health:  cfg.Health,
		Modules: func(*beehive.Bus) ([]daemon.Entry, error) { return nil, nil },
	}.Run(ctx)
}
