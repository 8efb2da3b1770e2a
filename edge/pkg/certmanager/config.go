package certmanager

import (
	"log/slog"
	"net"
	"path/filepath"
	"strconv"

	"github.com/tether-edge/tether/common/config"
)

// The files a node's PKI directory (edgeHub.pkiDir) holds.
const (
	CAFileName   = "ca.crt"
	CertFileName = "node.crt"
	KeyFileName  = "node.key"
)

// FromConfig returns the Options edgecore uses for node nodeName: the join
// server at https://<edgeHub.server>:<edgeHub.ports.https> and the files
// CAFileName, CertFileName and KeyFileName in edgeHub.pkiDir. token may be
// empty (a node that holds its certificate needs none); log is required by
// New. The other fields keep their defaults.
func FromConfig(nodeName string, hub config.EdgeHub, token string, log *slog.Logger) Options {
	return Options{
		Server:   "https://" + net.JoinHostPort(hub.Server, strconv.Itoa(hub.Ports.HTTPS)),
		NodeName: nodeName,
		CAFile:   filepath.Join(hub.PKIDir, CAFileName),
		CertFile: filepath.Join(hub.PKIDir, CertFileName),
		KeyFile:  filepath.Join(hub.PKIDir, KeyFileName),
		Token:    token,
		Logger:   log,
	}
}
