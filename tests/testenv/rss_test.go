package testenv

import "testing"

func TestVMRSS(t *testing.T) {
	status := []byte("Name:\tcloudcore\nVmPeak:\t  900 kB\nVmRSS:\t   123456 kB\nRssAnon:\t 100 kB\n")
	if got, err := vmRSS(status); err != nil || got != 123456<<10 {
		t.Fatalf("vmRSS = %d, %v; want %d", got, err, 123456<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := vmRSS([]byte(bad)); err == nil {
			t.Errorf("vmRSS(%q) gave no error", bad)
		}
	}
}
