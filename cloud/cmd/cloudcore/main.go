// Command cloudcore is the cloud half of Tether. It loads its config, builds its
// modules, and runs them on the module bus until SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful stop, a second one kills the process.
	context.AfterFunc(ctx, stop)
	cmd := daemon.Daemon[*config.CloudCore]{
		Name:     "cloudcore",
		Short:    "Tether cloud side: tunnels to edge nodes, and the controllers that feed them",
		Defaults: config.DefaultCloudCore,
		Load:     config.LoadCloudCore,
		Run:      run,
	}.Command()
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloudcore: %v\n", err)
		os.Exit(1)
	}
}
