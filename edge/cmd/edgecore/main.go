// Command edgecore is the edge half of Tether. It loads its config, builds its
// modules, and runs them on the module bus until SIGINT or SIGTERM.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

func main() {
	err := daemon.Daemon[*config.EdgeCore]{
		Name:     "edgecore",
		Short:    "Tether edge side: runs pods and devices on this host, online or offline",
		Defaults: config.DefaultEdgeCore,
		Load:     config.LoadEdgeCore,
		Run:      run,
		Commands: func(load func() (*config.EdgeCore, error)) []*cobra.Command {
			return []*cobra.Command{dbCommand(load), joinCommand()}
		},
	}.Execute()
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgecore: %v\n", err)
		os.Exit(1)
	}
}
