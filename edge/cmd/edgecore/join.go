package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/jointoken"
	"github.com/tether-edge/tether/edge/pkg/certmanager"
)

// Defaults of `edgecore join`.
const (
	// defaultJoinConfig is where join writes the config when --config is not
	// given: the file deploy/edgecore/edgecore.service runs edgecore with.
	defaultJoinConfig  = "/etc/tether/edgecore.yaml"
	defaultJoinTimeout = 30 * time.Second
	// configMode is a new config file's mode: it may name secrets later.
	configMode = 0o600
	dirMode    = 0o755
)

// joinFlags are `edgecore join`'s flags.
type joinFlags struct {
	configPath string
	cloud      string
	token      string
	name       string
	transport  string
	timeout    time.Duration
	force      bool
}

// joinCommand is `edgecore join`: it writes this node's config, fetches its
// certificate with a join token and prints how to start edgecore.
func joinCommand() *cobra.Command {
	var f joinFlags
	cmd := &cobra.Command{
		Use:   "join --cloud HOST[:PORT] --token TOKEN [--name NODE]",
		Short: "Join this host to a cluster: write the config and fetch the node certificate",
		Long: `Join this host to a cluster as an edge node.

join updates the config file (--config, default ` + defaultJoinConfig + `): it sets
nodeName (with --name), edgeHub.server and, when --cloud names a port,
edgeHub.ports.https (and edgeHub.transport with --transport), keeping every
other setting and comment; a missing file is created (mode 0600). It then
fetches the cluster CA, pinned by the token, and a certificate for the node
into edgeHub.pkiDir. The token is not written anywhere: the certificate
authenticates the node from then on, and edgecore rotates it.

Nothing is changed when the join fails. A node that already holds a valid
certificate keeps it and needs no token; --force joins again with a new key.`,
		Example: `  # on the cloud side
  cloudcore token create --kubeconfig ~/.kube/config
  # on the edge host
  edgecore join --cloud cloud.example.com --token abcdef.0123456789abcdef.<ca hash> --name edge-1
  systemctl enable --now edgecore`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.configPath, _ = cmd.Flags().GetString("config")
			if f.configPath == "" {
				f.configPath = defaultJoinConfig
			}
			j := joiner{out: cmd.OutOrStdout(), defaults: config.DefaultEdgeCore, bootstrap: bootstrapCertificate}
			return j.join(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cloud, "cloud", "", "cloudcore's address as this node reaches it: HOST or HOST:PORT, PORT being the join port (cloudHub.https, default 10002)")
	fl.StringVar(&f.token, "token", "", "join token from cloudcore token create; needed unless the node holds a valid certificate")
	fl.StringVar(&f.name, "name", "", "node name (default: the config's nodeName, else the host name)")
	fl.StringVar(&f.transport, "transport", "", "tunnel transport, websocket or quic (default: the config's, else websocket)")
	fl.DurationVar(&f.timeout, "timeout", defaultJoinTimeout, "how long to wait for the cloud")
	fl.BoolVar(&f.force, "force", false, "join again with a new key and certificate even if the node holds a valid one")
	_ = cmd.MarkFlagRequired("cloud")
	return cmd
}

// joiner runs a join.
type joiner struct {
	// out receives the report and the next step.
	out io.Writer
	// defaults are the settings of a config that does not exist yet.
	defaults func() *config.EdgeCore
	// bootstrap runs certmanager's Bootstrap with o and returns the node's
	// certificate; with no token it only finds a valid one on disk.
	bootstrap func(ctx context.Context, o certmanager.Options) (*x509.Certificate, error)
}

// bootstrapCertificate is joiner.bootstrap with certmanager.
func bootstrapCertificate(ctx context.Context, o certmanager.Options) (*x509.Certificate, error) {
	m, err := certmanager.New(o)
	if err != nil {
		return nil, err
	}
	if err := m.Bootstrap(ctx); err != nil {
		return nil, err
	}
	return m.Current().Leaf, nil
}

// join checks the flags, prepares the config, gets the certificate in
// place, and only then writes the config.
func (j joiner) join(ctx context.Context, f joinFlags) error {
	changes, err := f.changes()
	if err != nil {
		return err
	}
	file, err := readJoinConfig(f.configPath, j.defaults)
	if err != nil {
		return err
	}
	cfg := changes.apply(file.cfg)
	if err := cfg.Validate(); err != nil {
		if f.name == "" && !file.exists {
			return fmt.Errorf("config %s: %w (pass --name)", f.configPath, err)
		}
		return fmt.Errorf("config %s: %w", f.configPath, err)
	}
	data, err := file.render(changes, cfg)
	if err != nil {
		return err
	}
	cert, err := j.certificate(ctx, cfg, f)
	if err != nil {
		return err
	}
	if err := writeConfig(f.configPath, data, file.mode); err != nil {
		return fmt.Errorf("the certificate is in %s, but: %w", cfg.EdgeHub.PKIDir, err)
	}
	j.report(f, cfg, cert)
	return nil
}

// configChanges are what join sets in the config; empty fields are kept.
type configChanges struct {
	nodeName, server, transport string
	httpsPort                   int
}

// changes checks the flags and returns the changes they ask for.
func (f joinFlags) changes() (configChanges, error) {
	host, port, err := parseCloud(f.cloud)
	if err != nil {
		return configChanges{}, err
	}
	if f.name != "" {
		if err := certs.ValidateNodeName(f.name); err != nil {
			return configChanges{}, fmt.Errorf("--name: %w", err)
		}
	}
	if f.transport != "" && f.transport != config.TransportWebSocket && f.transport != config.TransportQUIC {
		return configChanges{}, fmt.Errorf("--transport %q: want %s or %s", f.transport, config.TransportWebSocket, config.TransportQUIC)
	}
	if f.token != "" {
		if _, err := jointoken.Parse(f.token); err != nil {
			return configChanges{}, fmt.Errorf("--token: %w", err)
		}
	}
	if f.force && f.token == "" {
		return configChanges{}, errors.New("--force joins again and needs --token")
	}
	if f.timeout <= 0 {
		return configChanges{}, fmt.Errorf("--timeout %v: must be positive", f.timeout)
	}
	return configChanges{nodeName: f.name, server: host, transport: f.transport, httpsPort: port}, nil
}

// parseCloud splits --cloud into a host (an IP address or a DNS name) and
// a port, 0 when absent. A bare IPv6 address, bracketed or not, is a host.
func parseCloud(s string) (host string, port int, err error) {
	if s == "" {
		return "", 0, errors.New("--cloud is required: cloudcore's host name or IP address, as this node reaches it")
	}
	host = strings.Trim(s, "[]")
	if net.ParseIP(host) == nil && strings.Contains(s, ":") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return "", 0, fmt.Errorf("--cloud %q: want HOST or HOST:PORT: %w", s, err)
		}
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("--cloud %q: port %q must be a number from 1 to 65535", s, p)
		}
		host = h
	}
	if net.ParseIP(host) == nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
		return "", 0, fmt.Errorf("--cloud %q: %q is neither an IP address nor a DNS name", s, host)
	}
	return host, port, nil
}

// apply returns a copy of cfg with the changes.
func (c configChanges) apply(cfg config.EdgeCore) *config.EdgeCore {
	if c.nodeName != "" {
		cfg.NodeName = c.nodeName
	}
	cfg.EdgeHub.Server = c.server
	if c.httpsPort != 0 {
		cfg.EdgeHub.Ports.HTTPS = c.httpsPort
	}
	if c.transport != "" {
		cfg.EdgeHub.Transport = c.transport
	}
	return &cfg
}

// joinConfig is the config file join edits: the user's, or none yet.
type joinConfig struct {
	// exists is whether the file exists; doc and mode are its YAML and its
	// mode when it does.
	exists bool
	doc    *yaml.Node
	mode   fs.FileMode
	// cfg is the file loaded over the defaults, or the defaults.
	cfg config.EdgeCore
}

// readJoinConfig loads the config at path strictly, with its YAML kept for
// editing; a missing file is the defaults.
func readJoinConfig(path string, defaults func() *config.EdgeCore) (*joinConfig, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &joinConfig{cfg: *defaults(), mode: configMode}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := config.DecodeEdgeCore(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w (fix it, or join with another --config)", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: parse YAML: %w", path, err)
	}
	return &joinConfig{exists: true, doc: &doc, mode: info.Mode().Perm(), cfg: *cfg}, nil
}

// freshConfig is a new config file's text; every setting it leaves out
// keeps its default.
const freshConfig = `# edgecore's config, written by edgecore join. Settings not named here keep
# their defaults: edgecore --defaultconfig prints them all.
apiVersion: %s
kind: EdgeCore
nodeName: %s
edgeHub:
  server: %s
  transport: %s
  ports: {websocket: %d, quic: %d, https: %d, stream: %d}
  pkiDir: %s
`

// render returns the file's YAML with the changes: the user's document
// with only the changed values replaced, or a fresh minimal one for cfg.
func (f *joinConfig) render(c configChanges, cfg *config.EdgeCore) ([]byte, error) {
	if !f.exists {
		h := cfg.EdgeHub
		q := strconv.Quote
		return fmt.Appendf(nil, freshConfig, config.APIVersion, q(cfg.NodeName), q(h.Server), h.Transport,
			h.Ports.WebSocket, h.Ports.QUIC, h.Ports.HTTPS, h.Ports.Stream, q(h.PKIDir)), nil
	}
	edits := []struct {
		path       []string
		tag, value string
	}{
		{[]string{"nodeName"}, "!!str", c.nodeName},
		{[]string{"edgeHub", "server"}, "!!str", c.server},
		{[]string{"edgeHub", "transport"}, "!!str", c.transport},
		{[]string{"edgeHub", "ports", "https"}, "!!int", strconv.Itoa(c.httpsPort)},
	}
	for _, e := range edits {
		if e.value == "" || e.value == "0" {
			continue
		}
		if err := setScalar(f.doc, e.path, e.tag, e.value); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f.doc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return buf.Bytes(), nil
}

// setScalar sets the value at path in a YAML document whose root is a
// mapping, adding missing keys and keeping the comments around the value.
func setScalar(doc *yaml.Node, path []string, tag, value string) error {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for i, key := range path {
		if isNull(n) {
			n.Kind, n.Tag, n.Value, n.Style = yaml.MappingNode, "!!map", "", 0
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("config: %s is not a mapping; cannot set %s", strings.Join(path[:i], "."), strings.Join(path, "."))
		}
		child := mappingValue(n, key)
		if child == nil {
			child = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, child)
		}
		n = child
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("config: %s is not a single value", strings.Join(path, "."))
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	n.Tag, n.Value, n.Style = tag, value, 0
	if quoted && tag == "!!str" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return nil
}

// mappingValue returns the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// joinedCert is the node's certificate after join, and whether this join
// issued it.
type joinedCert struct {
	leaf   *x509.Certificate
	issued bool
}

// certificate keeps a valid certificate already in edgeHub.pkiDir (unless
// --force), or joins: into a folder beside the files, moved into place only
// once the certificate is issued, so a failure changes nothing.
func (j joiner) certificate(ctx context.Context, cfg *config.EdgeCore, f joinFlags) (joinedCert, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := cfg.EdgeHub.PKIDir
	var reason error
	if !f.force {
		leaf, err := j.bootstrap(ctx, certmanager.FromConfig(cfg.NodeName, cfg.EdgeHub, "", log))
		if err == nil {
			return joinedCert{leaf: leaf}, nil
		}
		reason = err
	}
	if f.token == "" {
		return joinedCert{}, fmt.Errorf("no valid certificate for node %s in %s (%v): pass --token (create one with: cloudcore token create)",
			cfg.NodeName, dir, reason)
	}
	created := missingDirs(dir)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return joinedCert{}, fmt.Errorf("create edgeHub.pkiDir: %w", err)
	}
	staging, err := os.MkdirTemp(dir, ".join-")
	if err != nil {
		return joinedCert{}, fmt.Errorf("create a folder for the new certificate: %w", err)
	}
	defer os.RemoveAll(staging)
	hub := cfg.EdgeHub
	hub.PKIDir = staging
	opts := certmanager.FromConfig(cfg.NodeName, hub, f.token, log)
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	leaf, err := j.bootstrap(ctx, opts)
	if err == nil {
		err = installPKI(staging, dir)
	}
	if err != nil {
		os.RemoveAll(staging)
		for _, d := range created {
			os.Remove(d) // only when empty
		}
		return joinedCert{}, explainJoinError(err, opts.Server, f.timeout)
	}
	return joinedCert{leaf: leaf, issued: true}, nil
}

// missingDirs returns dir and those of its parents that do not exist yet,
// dir first: the folders MkdirAll(dir) would create.
func missingDirs(dir string) []string {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			return missing
		}
		missing = append(missing, d)
	}
}

// installPKI moves the files of a join from staging into dir. The key goes
// last, through the pending name rotation uses, so an interrupted install
// leaves files certmanager's Bootstrap completes (see its package doc).
func installPKI(staging, dir string) error {
	pending := filepath.Join(dir, certmanager.KeyFileName+".next")
	moves := [][2]string{
		{filepath.Join(staging, certmanager.KeyFileName), pending},
		{filepath.Join(staging, certmanager.CAFileName), filepath.Join(dir, certmanager.CAFileName)},
		{filepath.Join(staging, certmanager.CertFileName), filepath.Join(dir, certmanager.CertFileName)},
		{pending, filepath.Join(dir, certmanager.KeyFileName)},
	}
	for _, m := range moves {
		if err := os.Rename(m[0], m[1]); err != nil {
			return fmt.Errorf("install %s: %w", m[1], err)
		}
	}
	return nil
}

// explainJoinError says what failed in words an operator can act on.
func explainJoinError(err error, server string, timeout time.Duration) error {
	var refused *certmanager.ServerError
	switch {
	case errors.Is(err, certmanager.ErrCAMismatch):
		return fmt.Errorf("join refused: the CA at %s is not the one the token pins; check --cloud, and that the token comes from this cluster's cloudcore: %w", server, err)
	case errors.As(err, &refused) && refused.Code == http.StatusUnauthorized:
		return fmt.Errorf("the cloud refused the join token (%s); create a new one with: cloudcore token create: %w", refused.Reason, err)
	case errors.As(err, &refused):
		return fmt.Errorf("the cloud at %s refused the join (%s: %s): %w", server, refused.Status, refused.Reason, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the cloud at %s did not answer within %v; check --cloud and that the join port is reachable from here: %w", server, timeout, err)
	case errors.As(err, new(*url.Error)):
		return fmt.Errorf("cannot reach the cloud at %s; check --cloud, the join port (cloudHub.https, default 10002) and firewalls: %w", server, err)
	}
	return fmt.Errorf("join: %w", err)
}

// writeConfig checks that data loads, then writes it to path atomically
// with mode, creating its folder.
func writeConfig(path string, data []byte, mode fs.FileMode) error {
	if _, err := config.DecodeEdgeCore(data); err != nil {
		return fmt.Errorf("the edited config does not load, %s is unchanged: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	return certs.WriteFileAtomic(path, data, mode)
}

// report prints what join did and the next step.
func (j joiner) report(f joinFlags, cfg *config.EdgeCore, c joinedCert) {
	h := cfg.EdgeHub
	if c.issued {
		fmt.Fprintf(j.out, "node %s joined: certificate in %s from %s, valid until %s\n",
			cfg.NodeName, h.PKIDir, net.JoinHostPort(h.Server, strconv.Itoa(h.Ports.HTTPS)), c.leaf.NotAfter.Format(time.RFC3339))
	} else {
		fmt.Fprintf(j.out, "node %s already holds a valid certificate in %s (valid until %s): kept it; --force joins again with a new key\n",
			cfg.NodeName, h.PKIDir, c.leaf.NotAfter.Format(time.RFC3339))
	}
	fmt.Fprintf(j.out, "wrote %s: nodeName %s, edgeHub.server %s, edgeHub.ports.https %d, edgeHub.transport %s\n",
		f.configPath, cfg.NodeName, h.Server, h.Ports.HTTPS, h.Transport)
	fmt.Fprintf(j.out, "next, start edgecore:\n  systemctl enable --now edgecore    (with deploy/edgecore/edgecore.service installed; it reads %s)\n  or: edgecore --config %s\n",
		defaultJoinConfig, f.configPath)
}
