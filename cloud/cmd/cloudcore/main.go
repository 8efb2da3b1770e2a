// Command cloudcore is the cloud half of Tether. It loads its config, builds its
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
	err := daemon.Daemon[*config.CloudCore]{
		Name:     "cloudcore",
		Short:    "Tether cloud side: tunnels to edge nodes, and the controllers that feed them",
		Defaults: config.DefaultCloudCore,
		Load:     config.LoadCloudCore,
		Run:      run,
		Commands: func(load func() (*config.CloudCore, error)) []*cobra.Command {
			return []*cobra.Command{tokenCommand(load)}
		},
	}.Execute()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloudcore: %v\n", err)
		os.Exit(1)
	}
}
