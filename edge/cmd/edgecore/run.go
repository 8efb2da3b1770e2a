package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
	"github.com/tether-edge/tether/edge/pkg/certmanager"
	"github.com/tether-edge/tether/edge/pkg/devicetwin"
	"github.com/tether-edge/tether/edge/pkg/edged"
	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
	"github.com/tether-edge/tether/edge/pkg/edgestream"
	"github.com/tether-edge/tether/edge/pkg/eventbus"
	"github.com/tether-edge/tether/edge/pkg/events"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
	"github.com/tether-edge/tether/edge/pkg/nodestatus"
)

// version is edgecore's version, reported in the Node's nodeInfo; set at
// build time with -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0-dev"

// run opens the local store, builds edgecore's modules from cfg and runs
// them until ctx ends.
func run(ctx context.Context, cfg *config.EdgeCore) error {
	log := cfg.Logging.NewLogger(os.Stderr).With("node", cfg.NodeName)
	// The store opens before the bus: its metrics go on the registry
	// daemon.Process then serves.
	registry := daemon.NewRegistry()
	store, err := metamanager.OpenStore(metamanager.StoreOptions{
		Path:        cfg.MetaManager.DBPath,
		Logger:      log,
		BusyTimeout: cfg.MetaManager.BusyTimeout.Duration,
		MaxBatch:    cfg.MetaManager.MaxBatch,
		Metrics:     metamanager.NewMetrics(registry),
	})
	if err != nil {
		return err
	}
	defer store.Close()
	return daemon.Process{
		Name:    "edgecore",
		Logger:  log,
		Bus:     cfg.Bus,
		Health:  cfg.Health,
		Metrics: registry,
		Modules: func(bus *beehive.Bus, metrics prometheus.Registerer) ([]daemon.Entry, error) {
			return modules(cfg, bus, store, metrics, log)
		},
	}.Run(ctx)
}

// modules is edgecore's composition root.
func modules(cfg *config.EdgeCore, bus *beehive.Bus, store *metamanager.Store, metrics prometheus.Registerer, log *slog.Logger) ([]daemon.Entry, error) {
	var node *nodestatus.Module
	var pods *edged.Edged
	var subscribers []string
	if cfg.Edged.Enable {
		var err error
		pods, err = edgedModule(cfg, bus, log, edged.NewMetrics(metrics), func() string { return node.InternalIP() })
		if err != nil {
			return nil, err
		}
		subscribers = append(subscribers, edged.Name)
	}
	if cfg.EventBus.Enable {
		subscribers = append(subscribers, devicetwin.Name)
	}
	meta, err := metamanager.New(metamanager.Options{
		Bus:            bus,
		Store:          store,
		Logger:         log,
		Hub:            edgehub.Name,
		RequestTimeout: cfg.EdgeHub.RequestTimeout.Duration,
		Subscribers:    subscribers,
	})
	if err != nil {
		return nil, err
	}
	certs, err := certManager(cfg, log)
	if err != nil {
		return nil, err
	}
	hub, err := hubModule(cfg, bus, meta, certs, edgehub.NewMetrics(metrics), log)
	if err != nil {
		return nil, err
	}
	nodeOpts := nodestatus.Options{
		Bus:         bus,
		Logger:      log,
		Host:        nodestatus.SystemHost{},
		NodeName:    cfg.NodeName,
		Config:      cfg.NodeStatus,
		CloudServer: cfg.EdgeHub.Server,
		Version:     version,
		StatusSink:  metamanager.Name,
		Hub:         edgehub.Name,
		Events:      events.Name,
	}
	if pods != nil {
		nodeOpts.Runtime = pods
		nodeOpts.Pressure = cfg.Edged.Pressure
	}
	node, err = nodestatus.New(nodeOpts)
	if err != nil {
		return nil, err
	}
	recorder, err := events.New(events.Options{
		Bus:      bus,
		Logger:   log,
		NodeName: cfg.NodeName,
		Hub:      edgehub.Name,
		QPS:      cfg.NodeStatus.EventQPS,
		Burst:    cfg.NodeStatus.EventBurst,
		Buffer:   cfg.NodeStatus.EventBuffer,
	})
	if err != nil {
		return nil, err
	}
	restart := beehive.Policy{OnError: beehive.Restart}
	entries := []daemon.Entry{
		{Module: meta, Policy: restart},
		{Module: hub, Policy: restart},
		{Module: node, Policy: restart},
		{Module: recorder, Policy: restart},
	}
	if pods != nil {
		entries = append(entries, daemon.Entry{Module: pods, Policy: restart, Healthz: pods.Healthz})
		if cfg.EdgeStream.Enable {
			stream, err := streamModule(cfg, pods, certs, log)
			if err != nil {
				return nil, err
			}
			entries = append(entries, daemon.Entry{Module: stream, Policy: restart})
		}
	}
	if cfg.EventBus.Enable {
		devices, err := deviceModules(cfg, bus, store, eventbus.NewMetrics(metrics), log)
		if err != nil {
			return nil, err
		}
		entries = append(entries, devices...)
	}
	return entries, nil
}

// deviceModules builds EventBus and DeviceTwin.
func deviceModules(cfg *config.EdgeCore, bus *beehive.Bus, store *metamanager.Store, metrics *eventbus.Metrics, log *slog.Logger) ([]daemon.Entry, error) {
	mqtt, err := eventbus.New(eventbus.Options{Config: cfg.EventBus, Bus: bus, Deliver: devicetwin.Name, Log: log, Metrics: metrics})
	if err != nil {
		return nil, err
	}
	twins, err := devicetwin.New(devicetwin.Options{
		Bus:        bus,
		Store:      store,
		Logger:     log,
		NodeName:   cfg.NodeName,
		EventBus:   eventbus.Name,
		StatusSink: metamanager.Name,
	})
	if err != nil {
		return nil, err
	}
	restart := beehive.Policy{OnError: beehive.Restart}
	return []daemon.Entry{
		{Module: mqtt, Policy: restart, Healthz: func(context.Context) error {
			if !mqtt.Connected() {
				return fmt.Errorf("MQTT broker (eventBus.mode %s) not connected", cfg.EventBus.Mode)
			}
			return nil
		}},
		{Module: twins, Policy: restart},
	}, nil
}

// edgedModule builds Edged; hostIP is the node's InternalIP.
func edgedModule(cfg *config.EdgeCore, bus *beehive.Bus, log *slog.Logger, metrics *edged.Metrics, hostIP func() string) (*edged.Edged, error) {
	return edged.New(edged.Options{
		Bus:            bus,
		Logger:         log,
		NodeName:       cfg.NodeName,
		Config:         cfg.Edged,
		Store:          metamanager.Name,
		Hub:            edgehub.Name,
		Events:         events.Name,
		HostIP:         hostIP,
		RequestTimeout: cfg.EdgeHub.RequestTimeout.Duration,
		Metrics:        metrics,
		Allocatable: func() admit.Node {
			n := admit.Node{Name: cfg.NodeName, Labels: cfg.NodeStatus.Labels}
			if r, err := (nodestatus.SystemHost{}).Resources(); err == nil {
				n.Allocatable = nodestatus.Allocatable(r, cfg.NodeStatus)
			}
			return n
		},
	})
}

// streamModule builds EdgeStream, which serves kubectl logs, exec, attach
// and port-forward for Edged's pods over the stream tunnel.
func streamModule(cfg *config.EdgeCore, pods *edged.Edged, certs *certmanager.Manager, log *slog.Logger) (*edgestream.Module, error) {
	h := cfg.EdgeHub
	return edgestream.New(edgestream.Options{
		Runtime:          pods.StreamRuntime(),
		Logger:           log,
		Certs:            certs,
		TunnelAddress:    net.JoinHostPort(h.Server, strconv.Itoa(h.Ports.Stream)),
		ServerName:       h.Server,
		LocalAddress:     cfg.EdgeStream.Address,
		KeepalivePeriod:  h.KeepalivePeriod.Duration,
		ReconnectInitial: h.ReconnectInitial.Duration,
		ReconnectMax:     h.ReconnectMax.Duration,
	})
}

// certManager is the node's certificate manager: EdgeHub bootstraps and
// rotates the certificate, EdgeStream dials with it too.
func certManager(cfg *config.EdgeCore, log *slog.Logger) (*certmanager.Manager, error) {
	h := cfg.EdgeHub
	token, err := joinToken(h)
	if err != nil {
		return nil, err
	}
	return certmanager.New(certmanager.FromConfig(cfg.NodeName, h, token, log))
}

// hubModule builds EdgeHub with the node's certificate manager; store is
// what it syncs into.
func hubModule(cfg *config.EdgeCore, bus *beehive.Bus, store edgehub.Store, certs *certmanager.Manager, metrics *edgehub.Metrics, log *slog.Logger) (*edgehub.Hub, error) {
	h := cfg.EdgeHub
	port := h.Ports.WebSocket
	if h.Transport == config.TransportQUIC {
		port = h.Ports.QUIC
	}
	return edgehub.New(edgehub.Options{
		Bus:              bus,
		Store:            store,
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
		Subscribers:      []string{nodestatus.Name, events.Name},
		Metrics:          metrics,
	})
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
