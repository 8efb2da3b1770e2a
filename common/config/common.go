package config

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Logging configures the structured logger each binary builds in main.
type Logging struct {
	// Level is debug, info, warn or error. Default info.
	Level string `json:"level"`
	// Format is text or json: log/slog's text or JSON handler, writing to
	// stderr. Default text.
	Format string `json:"format"`
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

func defaultLogging() Logging { return Logging{Level: "info", Format: "text"} }

func (l Logging) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, ok := logLevels[l.Level]; !ok {
		errs = append(errs, field.NotSupported(p.Child("level"), l.Level, []string{"debug", "info", "warn", "error"}))
	}
	if l.Format != "text" && l.Format != "json" {
		errs = append(errs, field.NotSupported(p.Child("format"), l.Format, []string{"text", "json"}))
	}
	return errs
}

// NewLogger returns a logger writing to w at the configured level and format.
// Call it on a validated Logging.
func (l Logging) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[l.Level]}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Bus configures the in-process module bus (beehive).
type Bus struct {
	// QueueSize is the capacity of each module's inbound queue, 1 to
	// 1048576; a sender waits while it is full. Default 1024.
	QueueSize int `json:"queueSize"`
	// ShutdownTimeout is how long a stopping process waits for its modules;
	// past it the process exits 1, naming the modules still running.
	// Default 5s.
	ShutdownTimeout Duration `json:"shutdownTimeout"`
}

func defaultBus() Bus {
	return Bus{QueueSize: 1024, ShutdownTimeout: Duration{5 * time.Second}}
}

func (b Bus) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if b.QueueSize < 1 || b.QueueSize > 1<<20 {
		errs = append(errs, field.Invalid(p.Child("queueSize"), b.QueueSize, "must be between 1 and 1048576"))
	}
	if b.ShutdownTimeout.Duration <= 0 {
		errs = append(errs, field.Invalid(p.Child("shutdownTimeout"), b.ShutdownTimeout.String(), "must be positive"))
	}
	return errs
}

// Health configures the health endpoint (/healthz, /readyz, /status,
// /metrics).
type Health struct {
	// Address is host:port to listen on; empty disables the endpoint.
	// Default 127.0.0.1:9091 for cloudcore, 127.0.0.1:9092 for edgecore.
	Address string `json:"address"`
}

func (h Health) validate(p *field.Path) field.ErrorList {
	if h.Address == "" {
		return nil
	}
	return validateHostPort(p.Child("address"), h.Address)
}

func validateHostPort(p *field.Path, addr string) field.ErrorList {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return field.ErrorList{field.Invalid(p, addr, "must be host:port: "+err.Error())}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return field.ErrorList{field.Invalid(p, addr, "port must be a number from 0 to 65535")}
	}
	return nil
}
