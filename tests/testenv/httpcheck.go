package testenv

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpOK returns nil when GET url answers 200 OK.
func httpOK(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// insecureLoopbackClient is for health checks of components that serve a
// self-signed certificate on 127.0.0.1; it sends no credentials.
func insecureLoopbackClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
}
