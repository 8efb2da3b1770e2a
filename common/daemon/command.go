// Package daemon is the process shell both binaries share: a root command
// that loads a config file (or prints the defaults), and a runner that puts
// the binary's modules and its health endpoint on a module bus and runs them
// until the context ends.
//
//	cloudcore --defaultconfig        print every setting with its default, then exit
//	cloudcore --config FILE          load FILE over the defaults, validate, run
//	cloudcore                        run with the defaults
//
// Subcommands (cloudcore token, edgecore db) come from Daemon.Commands and
// read the same --config.
package daemon

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Config is what a config kind offers the command line.
type Config interface {
	Validate() error
	YAML() ([]byte, error)
}

// Daemon describes one binary.
type Daemon[C Config] struct {
	// Name is the binary's name, as typed.
	Name string
	// Short is the one-line description in --help.
	Short string
	// Defaults returns the full default configuration.
	Defaults func() C
	// Load reads, strictly decodes and validates a config file over the defaults.
	Load func(path string) (C, error)
	// Run runs the daemon until ctx ends; a nil error means a clean stop.
	Run func(ctx context.Context, cfg C) error
	// Commands, if set, returns the binary's subcommands (cloudcore token,
	// say). load reads the --config file the user gave (or the defaults),
	// as the daemon itself would.
	Commands func(load func() (C, error)) []*cobra.Command
}

// Execute runs the root command until SIGINT or SIGTERM. The first signal
// cancels the daemon's context for a graceful stop; a second one kills the
// process (the signal's default action). main prints the error and exits.
func (d Daemon[C]) Execute() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return d.Command().ExecuteContext(ctx)
}

// Command returns the root command; Execute runs it with a signal context.
func (d Daemon[C]) Command() *cobra.Command {
	var (
		path          string
		printDefaults bool
	)
	cmd := &cobra.Command{
		Use:           d.Name,
		Short:         d.Short,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printDefaults {
				y, err := d.Defaults().YAML()
				if err != nil {
					return fmt.Errorf("render defaults: %w", err)
				}
				_, err = cmd.OutOrStdout().Write(y)
				return err
			}
			cfg, err := d.config(path)
			if err != nil {
				return err
			}
			return d.Run(cmd.Context(), cfg)
		},
	}
	cmd.PersistentFlags().StringVar(&path, "config", "", "config file (YAML); --defaultconfig prints one with every default")
	cmd.Flags().BoolVar(&printDefaults, "defaultconfig", false, "print the full default config and exit")
	if d.Commands != nil {
		cmd.AddCommand(d.Commands(func() (C, error) { return d.config(path) })...)
	}
	return cmd
}

func (d Daemon[C]) config(path string) (C, error) {
	if path != "" {
		return d.Load(path)
	}
	cfg := d.Defaults()
	if err := cfg.Validate(); err != nil {
		var zero C
		return zero, fmt.Errorf("default config: %w (write a config file with --defaultconfig and pass it with --config)", err)
	}
	return cfg, nil
}
