package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// CNI network every containerd started here uses. The instances share it on
// purpose: one bridge and one host-local allocation store
// (/var/lib/cni/networks/tether-test) so parallel instances never hand out
// the same address. Pods get no default route: their traffic stays on the
// bridge and the host (10.88.0.1).
const (
	cniNetworkName = "tether-test"
	cniBridge      = "tether0"
	// PodSubnet is the subnet pod IPs come from.
	PodSubnet = "10.88.0.0/16"
)

const cniConflist = `{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]]}
  }]
}
`

// containerdLayout is where one containerd instance keeps its files.
type containerdLayout struct {
	config, root, state, socket, shimSockets, cniConf, cniBin string
}

// tomlEdit sets key = value in [section] of the document that `containerd
// config default` prints; section "" is the top level. Quotes in section
// names do not matter (1.6 prints "...", 2.x prints '...').
type tomlEdit struct{ section, key, value string }

func tomlString(s string) string { return strconv.Quote(s) }

// configEdits are the changes to containerd's default config: its own
// directories and sockets, no host config imports, no NRI, OOM score
// adjustments the VM allows, the test pause image, and the CNI setup.
func configEdits(version string, l containerdLayout) []tomlEdit {
	top := []tomlEdit{
		{"", "root", tomlString(l.root)},
		{"", "state", tomlString(l.state)},
		{"", "imports", "[]"},
	}
	if version == "1.6" {
		cri := `plugins.io.containerd.grpc.v1.cri`
		return append(top,
			tomlEdit{"grpc", "address", tomlString(l.socket)},
			tomlEdit{"ttrpc", "address", tomlString(l.socket + ".ttrpc")},
			tomlEdit{cri, "sandbox_image", tomlString(PauseImage)},
			tomlEdit{cri, "restrict_oom_score_adj", "true"},
			tomlEdit{cri, "netns_mounts_under_state_dir", "true"},
			tomlEdit{cri + ".cni", "bin_dir", tomlString(l.cniBin)},
			tomlEdit{cri + ".cni", "conf_dir", tomlString(l.cniConf)},
			tomlEdit{cri + ".containerd.runtimes.runc.options", "Root", tomlString(filepath.Join(l.state, "runc"))},
			tomlEdit{"plugins.io.containerd.internal.v1.opt", "path", tomlString(filepath.Join(l.root, "opt"))},
		)
	}
	rt := `plugins.io.containerd.cri.v1.runtime`
	return append(top,
		tomlEdit{"plugins.io.containerd.server.v1.grpc", "address", tomlString(l.socket)},
		tomlEdit{"plugins.io.containerd.server.v1.ttrpc", "address", tomlString(l.socket + ".ttrpc")},
		tomlEdit{"plugins.io.containerd.shim.v1.manager", "socket_dir", tomlString(l.shimSockets)},
		tomlEdit{"plugins.io.containerd.cri.v1.images.pinned_images", "sandbox", tomlString(PauseImage)},
		tomlEdit{rt, "restrict_oom_score_adj", "true"},
		tomlEdit{rt, "netns_mounts_under_state_dir", "true"},
		tomlEdit{rt + ".cni", "bin_dirs", "[" + tomlString(l.cniBin) + "]"},
		tomlEdit{rt + ".cni", "conf_dir", tomlString(l.cniConf)},
		tomlEdit{rt + ".containerd.runtimes.runc.options", "Root", tomlString(filepath.Join(l.state, "runc"))},
		tomlEdit{"plugins.io.containerd.internal.v1.opt", "path", tomlString(filepath.Join(l.root, "opt"))},
		tomlEdit{"plugins.io.containerd.nri.v1.nri", "disable", "true"},
	)
}

// applyTOMLEdits applies edits line by line. Each edit must match exactly one
// existing key, so a renamed option in a new containerd fails loudly instead
// of being silently ignored.
func applyTOMLEdits(doc string, edits []tomlEdit) (string, error) {
	lines := strings.Split(doc, "\n")
	matched := make([]int, len(edits))
	section := ""
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			section = strings.NewReplacer(`"`, "", `'`, "", "[", "", "]", "").Replace(trimmed)
			continue
		}
		key, _, ok := strings.Cut(trimmed, "=")
		if !ok {
			continue
		}
		for j, e := range edits {
			if e.section == section && strings.TrimSpace(key) == e.key {
				indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
				lines[i] = indent + e.key + " = " + e.value
				matched[j]++
			}
		}
	}
	for j, e := range edits {
		if matched[j] != 1 {
			return "", fmt.Errorf("containerd default config: key %q in [%s] found %d times, want 1", e.key, e.section, matched[j])
		}
	}
	return strings.Join(lines, "\n"), nil
}

// writeContainerdConfig writes the instance's config (the binary's default
// config with configEdits applied) and its CNI conflist.
func writeContainerdConfig(bin, version string, l containerdLayout) error {
	def, err := exec.Command(bin, "config", "default").Output()
	if err != nil {
		return fmt.Errorf("%s config default: %w", bin, err)
	}
	cfg, err := applyTOMLEdits(string(def), configEdits(version, l))
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.config, []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(l.cniConf, 0o755); err != nil {
		return err
	}
	conflist := fmt.Sprintf(cniConflist, cniNetworkName, cniBridge, PodSubnet)
	return os.WriteFile(filepath.Join(l.cniConf, "10-tether-test.conflist"), []byte(conflist), 0o644)
}
