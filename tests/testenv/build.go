package testenv

import (
	"fmt"
	"os/exec"
	"strings"
)

// Tether's binaries, by the name StartCloudcore and StartEdgecore run.
const (
	CloudcorePackage = "github.com/tether-edge/tether/cloud/cmd/cloudcore"
	EdgecorePackage  = "github.com/tether-edge/tether/edge/cmd/edgecore"
)

// BuildBinaries builds the main packages pkgs into dir (each binary named
// for its package), as CloudcoreOptions.Bin and EdgecoreOptions.Bin want.
func BuildBinaries(dir string, pkgs ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}
