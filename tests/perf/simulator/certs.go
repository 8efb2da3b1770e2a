package simulator

import (
	"crypto/tls"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/tests/tunneltest"
)

// NodeName is the name of simulated node i: prefix-00042.
func NodeName(prefix string, i int) string { return fmt.Sprintf("%s-%05d", prefix, i) }

// IssueCerts issues client certificates for n nodes named NodeName(prefix,
// 0..n-1), signed by ca as the join server would, on every core.
func IssueCerts(ca *certs.CA, prefix string, n int) ([]tls.Certificate, error) {
	out := make([]tls.Certificate, n)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range out {
		g.Go(func() error {
			cert, err := tunneltest.NodeCert(ca, NodeName(prefix, i))
			if err != nil {
				return fmt.Errorf("simulator: certificate for %s: %w", NodeName(prefix, i), err)
			}
			out[i] = cert
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
