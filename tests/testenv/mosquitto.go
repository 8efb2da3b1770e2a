package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Mosquitto is a running MQTT broker started by StartMosquitto.
type Mosquitto struct {
	// Addr is the broker URL for MQTT clients: "tcp://127.0.0.1:PORT".
	Addr string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Process is the broker; its log has every connect and subscribe.
	Process *Process
}

// MosquittoOptions configures StartMosquitto.
type MosquittoOptions struct {
	// Paths finds the broker (Paths.Mosquitto); zero fields: DefaultPaths.
	Paths Paths
}

// StartMosquitto runs Debian's Mosquitto on a free port on 127.0.0.1 with
// anonymous access and no persistence, and waits until it accepts TCP
// connections (deadline 10s). Cleanup stops it.
func StartMosquitto(t T) *Mosquitto {
	t.Helper()
	return StartMosquittoWith(t, MosquittoOptions{})
}

// StartMosquittoWith is StartMosquitto with options.
func StartMosquittoWith(t T, opts MosquittoOptions) *Mosquitto {
	t.Helper()
	paths := opts.Paths.withDefaults()
	requireFile(t, "mosquitto (Debian package mosquitto)", paths.Mosquitto)
	port := FreePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	// Running as root, mosquitto would drop to the "mosquitto" user; staying
	// root keeps it independent of that user existing.
	text := fmt.Sprintf("user root\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"log_dest stdout\nlog_type all\nlog_timestamp_format %%H:%%M:%%S\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("write mosquitto config: %v", err)
	}
	proc := StartProcess(t, Command{Name: "mosquitto", Path: paths.Mosquitto, Args: []string{"-c", conf}})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitReady(t, proc, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return &Mosquitto{Addr: "tcp://" + addr, Port: port, Process: proc}
}
