package nodestatus

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"
)

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		text string
		want int64
		ok   bool
	}{
		{"MemTotal:        8048484 kB\nMemFree:  100 kB\n", 8048484 * 1024, true},
		{"MemFree:  100 kB\nMemTotal: 2 kB", 2048, true},
		{"MemFree:  100 kB\n", 0, false},
		{"MemTotal: lots kB\n", 0, false},
		{"MemTotal: 2 MB\n", 0, false},
	}
	for _, tt := range tests {
		got, err := parseMeminfo(tt.text)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseMeminfo(%q) = %d, %v; want %d, ok %v", tt.text, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		text string
		want int
		ok   bool
	}{
		{"0\n", 1, true},
		{"0-3\n", 4, true},
		{"0-3,6,8-9", 7, true},
		{"", 0, false},
		{"3-1", 0, false},
		{"a-b", 0, false},
	}
	for _, tt := range tests {
		got, err := parseCPUList(tt.text)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseCPUList(%q) = %d, %v; want %d, ok %v", tt.text, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := map[string]string{
		"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n": "Debian GNU/Linux 13 (trixie)",
		"PRETTY_NAME='Alpine Linux v3.20'\n":                                        "Alpine Linux v3.20",
		"PRETTY_NAME=Buildroot\n":                                                   "Buildroot",
		"NAME=Foo\n":                                                                "",
	}
	for text, want := range tests {
		if got := parseOSRelease(text); got != want {
			t.Errorf("parseOSRelease(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestSystemHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SystemHost reads Linux only")
	}
	r, err := SystemHost{}.Resources()
	if err != nil {
		t.Fatal(err)
	}
	if r.CPUs < 1 || r.MemoryBytes <= 0 || r.RootFSBytes <= 0 {
		t.Fatalf("resources %+v", r)
	}
	m := SystemHost{}.Machine()
	if m.KernelVersion == "" || m.BootID == "" || m.Architecture != runtime.GOARCH {
		t.Fatalf("machine %+v", m)
	}
	t.Logf("%+v %+v", m, r)
}

func TestRouteAddress(t *testing.T) {
	for _, server := range []string{"127.0.0.1", "127.0.0.1:10000", "localhost"} {
		got, err := routeAddress(t.Context(), server)
		if err != nil {
			t.Fatalf("%s: %v", server, err)
		}
		if ip := net.ParseIP(got); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s: local address %q, want a loopback address", server, got)
		}
	}
	if l, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err == nil {
		l.Close()
		if got, err := routeAddress(t.Context(), "[::1]"); err != nil || got != "::1" {
			t.Errorf("[::1]: %q, %v", got, err)
		}
	}
}

func TestMeminfoAvailable(t *testing.T) {
	text := "MemTotal:        8048484 kB\nMemFree:          100 kB\nMemAvailable:    4000000 kB\n"
	if got, err := meminfoField(text, "MemAvailable"); err != nil || got != 4000000*1024 {
		t.Errorf("MemAvailable = %d, %v", got, err)
	}
	if _, err := meminfoField("MemTotal: 1 kB\n", "MemAvailable"); err == nil {
		t.Error("no MemAvailable: no error")
	}
}

func TestParseLoadavgThreads(t *testing.T) {
	tests := []struct {
		text string
		want int64
		ok   bool
	}{
		{"0.20 0.18 0.12 1/80 11206\n", 80, true},
		{"1.00 2.00 3.00 12/34567 1", 34567, true},
		{"0.20 0.18 0.12", 0, false},
		{"0.20 0.18 0.12 80 11206", 0, false},
		{"0.20 0.18 0.12 1/x 11206", 0, false},
	}
	for _, tt := range tests {
		got, err := parseLoadavgThreads(tt.text)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseLoadavgThreads(%q) = %d, %v; want %d, ok %v", tt.text, got, err, tt.want, tt.ok)
		}
	}
}

func TestSystemHostPressure(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SystemHost reads Linux only")
	}
	res, err := SystemHost{}.Resources()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := SystemHost{}.Pressure([]string{"/", dir})
	if err != nil {
		t.Fatal(err)
	}
	if r.MemAvailableBytes <= 0 || r.MemAvailableBytes > res.MemoryBytes {
		t.Errorf("MemAvailable %d of %d", r.MemAvailableBytes, res.MemoryBytes)
	}
	if len(r.FileSystems) != 2 || r.FileSystems[0].Path != "/" || r.FileSystems[1].Path != dir {
		t.Fatalf("filesystems %+v", r.FileSystems)
	}
	for _, fs := range r.FileSystems {
		if fs.TotalBytes <= 0 || fs.AvailableBytes < 0 || fs.AvailableBytes > fs.TotalBytes {
			t.Errorf("filesystem %+v", fs)
		}
	}
	if r.FileSystems[0].TotalBytes != res.RootFSBytes {
		t.Errorf("root fs %d bytes, Resources says %d", r.FileSystems[0].TotalBytes, res.RootFSBytes)
	}
	// This test's own threads are in use.
	if r.PIDMax < 100 || r.PIDs < 2 || r.PIDs >= r.PIDMax {
		t.Errorf("PIDs %d of %d", r.PIDs, r.PIDMax)
	}
	if _, err := (SystemHost{}).Pressure([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path: no error")
	}
	t.Logf("%+v", r)
}
