package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
	"github.com/tether-edge/tether/edge/pkg/certmanager"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// run builds edgecore's modules from cfg and runs them until ctx ends.
func run(ctx context.Context, cfg *config.EdgeCore) error {
	log := cfg.Logging.NewLogger(os.Stderr).With("node", cfg.NodeName)
	return daemon.Process{
		Name:   "edgecore",
		Logger: log,
		Bus:    cfg.Bus,
		Health: cfg.Health,
		Modules: func(bus *beehive.Bus) ([]daemon.Entry, error) {
			return modules(cfg, bus, log)
		},
	}.Run(ctx)
}

// modules is edgecore's composition root.
func modules(cfg *config.EdgeCore, bus *beehive.Bus, log *slog.Logger) ([]daemon.Entry, error) {
	h := cfg.EdgeHub
	token, err := joinToken(h)
	if err != nil {
		return nil, err
	}
	certs, err := certmanager.New(certmanager.Options{
		Server:   "https://" + net.JoinHostPort(h.Server, strconv.Itoa(h.Ports.HTTPS)),
		NodeName: cfg.NodeName,
		CAFile:   filepath.Join(h.PKIDir, "ca.crt"),
		CertFile: filepath.Join(h.PKIDir, "node.crt"),
		KeyFile:  filepath.Join(h.PKIDir, "node.key"),
		Token:    token,
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	port := h.Ports.WebSocket
	if h.Transport == config.TransportQUIC {
		port = h.Ports.QUIC
	}
	hub, err := edgehub.New(edgehub.Options{
		Bus:              bus,
		Store:            edgehub.NewMemStore(), // MetaManager's SQLite store replaces it
		Certs:            certs,
		Logger:           log,
		Transport:        h.Transport,
		Address:          net.JoinHostPort(h.Server, strconv.Itoa(port)),
		ServerName:       h.Server,
		KeepalivePeriod:  h.KeepalivePeriod.Duration,
		ReconnectInitial: h.ReconnectInitial.Duration,
		ReconnectMax:     h.ReconnectMax.Duration,
		UpstreamQPS:      h.UpstreamQPS,
		UpstreamBurst:    h.UpstreamBurst,
		StatusWindow:     h.StatusWindow,
		RequestTimeout:   h.RequestTimeout.Duration,
	})
	if err != nil {
		return nil, err
	}
	return []daemon.Entry{{Module: hub, Policy: beehive.Policy{OnError: beehive.Restart}}}, nil
}

// joinToken reads the join token from the config or its file. A missing
// file is no token: a node that already has its certificate needs none.
func joinToken(h config.EdgeHub) (string, error) {
	if h.TokenFile == "" {
		return h.Token, nil
	}
	b, err := os.ReadFile(h.TokenFile)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read edgeHub.tokenFile: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
