package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestCloudcoreMetrics runs the built cloudcore against a real
// kube-apiserver with one edgecore and reads cloudcore's /metrics: the
// node's session shows (connected, traffic both ways, its queue depth
// series), goes when the edge stops, and a join with a bad token counts as
// a denial.
func TestCloudcoreMetrics(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	if err := testenv.BuildBinaries(bin, testenv.CloudcorePackage, testenv.EdgecorePackage); err != nil {
		t.Fatal(err)
	}
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: bin, Kube: kube})
	const node = "edge-metrics"
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{Bin: bin, Cloud: cloud, NodeName: node, Token: cloud.JoinToken(t, time.Hour)})

	url := cloud.Health + "/metrics"
	depth := fmt.Sprintf(`tether_cloudhub_queue_depth{node=%q}`, node)
	testenv.WaitFor(t, 60*time.Second, "the node's session in cloudcore's metrics", func() error {
		s, err := scrapeCloudMetrics(url)
		if err != nil {
			return err
		}
		return s.expect(
			cloudMetricIs(`tether_cloudhub_connected_nodes{transport="websocket"}`, 1),
			cloudMetricIs(`tether_cloudhub_connected_nodes{transport="quic"}`, 0),
			cloudMetricAbove(`tether_cloudhub_messages_total{direction="in"}`, 0),
			cloudMetricAbove(`tether_cloudhub_messages_total{direction="out"}`, 0),
			cloudMetricAbove(`tether_cloudhub_bytes_total{direction="in"}`, 0),
			cloudMetricAbove(`tether_cloudhub_bytes_total{direction="out"}`, 0),
			cloudMetricPresent(depth),
		)
	})

	if err := edge.Stop(); err != nil {
		t.Logf("edgecore stopped: %v", err)
	}
	testenv.WaitFor(t, 30*time.Second, "the node's session gone from cloudcore's metrics", func() error {
		s, err := scrapeCloudMetrics(url)
		if err != nil {
			return err
		}
		if _, ok := s[depth]; ok {
			return fmt.Errorf("%s still exported", depth)
		}
		return s.expect(cloudMetricIs(`tether_cloudhub_connected_nodes{transport="websocket"}`, 0))
	})

	s, err := scrapeCloudMetrics(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.expect(cloudMetricIs(`tether_join_token_denials_total{reason="invalid"}`, 0)); err != nil {
		t.Fatal(err)
	}
	if status := joinWithToken(t, kube, cloud, "abcdef.0123456789abcdef"); status != http.StatusUnauthorized {
		t.Fatalf("join with a bad token answered %d; want 401", status)
	}
	s, err = scrapeCloudMetrics(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.expect(
		cloudMetricIs(`tether_join_token_denials_total{reason="invalid"}`, 1),
		cloudMetricIs(`tether_join_token_denials_total{reason="expired"}`, 0),
	); err != nil {
		t.Fatal(err)
	}
}

// joinWithToken asks cloudcore's join server for a node certificate with
// the bearer credential, trusting cloudcore's CA, and returns the status.
func joinWithToken(t *testing.T, kube *testenv.Kube, cloud *testenv.Cloudcore, credential string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := pki.EnsureCASecret(ctx, kube.Clientset(t), testenv.TetherNamespace, "tether-ca", time.Now())
	if err != nil {
		t.Fatalf("read cloudcore's CA: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		fmt.Sprintf("https://127.0.0.1:%d/v1/node-certificate", cloud.HTTPSPort), strings.NewReader("not a CSR"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("join request: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// cloudSamples are the samples of one scrape, by series as written in the
// text exposition (name{labels}).
type cloudSamples map[string]float64

// scrapeCloudMetrics reads the text exposition at url.
func scrapeCloudMetrics(url string) (cloudSamples, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s := cloudSamples{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("GET %s: malformed line %q", url, line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("GET %s: line %q: %w", url, line, err)
		}
		s[line[:i]] = v
	}
	return s, sc.Err()
}

// cloudCheck is one expectation on a scrape.
type cloudCheck func(cloudSamples) error

func cloudMetricIs(series string, want float64) cloudCheck {
	return func(s cloudSamples) error {
		if v, ok := s[series]; !ok || v != want {
			return fmt.Errorf("%s = %v (exported %v); want %v", series, v, ok, want)
		}
		return nil
	}
}

func cloudMetricAbove(series string, floor float64) cloudCheck {
	return func(s cloudSamples) error {
		if v, ok := s[series]; !ok || v <= floor {
			return fmt.Errorf("%s = %v (exported %v); want > %v", series, v, ok, floor)
		}
		return nil
	}
}

func cloudMetricPresent(series string) cloudCheck {
	return func(s cloudSamples) error {
		if _, ok := s[series]; !ok {
			return fmt.Errorf("%s not exported", series)
		}
		return nil
	}
}

// expect returns the first unmet check's error.
func (s cloudSamples) expect(checks ...cloudCheck) error {
	for _, c := range checks {
		if err := c(s); err != nil {
			return err
		}
	}
	return nil
}
