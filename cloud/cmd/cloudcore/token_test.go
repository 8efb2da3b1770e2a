package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

func TestJoinCommandLine(t *testing.T) {
	tests := []struct {
		addresses []string
		https     string
		want      string
	}{
		{[]string{"cloud.example", "10.0.0.1"}, ":10002", "edgecore join --cloud cloud.example --token T"},
		{[]string{"10.0.0.1"}, "0.0.0.0:8443", "edgecore join --cloud 10.0.0.1:8443 --token T"},
		{[]string{"fd00::1"}, ":10002", "edgecore join --cloud [fd00::1] --token T"},
		{[]string{"fd00::1"}, ":8443", "edgecore join --cloud [fd00::1]:8443 --token T"},
		{nil, ":10002", "edgecore join --cloud <cloudcore address> --token T"},
	}
	for _, tt := range tests {
		h := config.CloudHub{AdvertiseAddresses: tt.addresses, HTTPS: config.Listener{Address: tt.https}}
		if got := joinCommandLine(h, "T"); got != tt.want {
			t.Errorf("joinCommandLine(%v, %s) = %q, want %q", tt.addresses, tt.https, got, tt.want)
		}
	}
}

// tokenRoot is cloudcore's root command with its token subcommand, as main
// builds it.
func tokenRoot() *cobra.Command {
	return daemon.Daemon[*config.CloudCore]{
		Name:     "cloudcore",
		Defaults: config.DefaultCloudCore,
		Load:     config.LoadCloudCore,
		Run:      func(context.Context, *config.CloudCore) error { return nil },
		Commands: func(load func() (*config.CloudCore, error)) []*cobra.Command {
			return []*cobra.Command{tokenCommand(load)}
		},
	}.Command()
}

// The root's --config reaches token's subcommands, and --kubeconfig
// overrides the file's kubeAPI.kubeconfig: each run fails reading the
// kubeconfig it was given, which the error names.
func TestTokenKubeconfigFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cloudcore.yaml")
	body := "apiVersion: config.tether.io/v1alpha1\nkind: CloudCore\nkubeAPI: {kubeconfig: " + filepath.Join(dir, "from-file") + "}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--config", cfg, "token", "list"}, "from-file"},
		{[]string{"--config", cfg, "token", "list", "--kubeconfig", filepath.Join(dir, "from-flag")}, "from-flag"},
		{[]string{"token", "--kubeconfig", filepath.Join(dir, "no-config"), "create"}, "no-config"},
	}
	for _, tt := range tests {
		root := tokenRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tt.args)
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), `kubeAPI.kubeconfig "`+filepath.Join(dir, tt.want)+`"`) {
			t.Errorf("cloudcore %v = %v, want an error naming kubeconfig %s", tt.args, err, tt.want)
		}
	}
}
