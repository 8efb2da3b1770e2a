package main

import (
	"context"
	"os"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

// run builds cloudcore's modules from cfg and runs them until ctx ends.
func run(ctx context.Context, cfg *config.CloudCore) error {
	return daemon.Process{
		Name:    "cloudcore",
		Logger:  cfg.Logging.NewLogger(os.Stderr),
		Bus:     cfg.Bus,
		Health:  cfg.Health,
		Modules: func(*beehive.Bus) ([]daemon.Entry, error) { return nil, nil },
	}.Run(ctx)
}
