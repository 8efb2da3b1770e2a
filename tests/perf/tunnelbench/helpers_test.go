package tunnelbench

import (
	"testing"

	"github.com/tether-edge/tether/common/objsync"
)

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

func TestObjectsAreDistinctAndSized(t *testing.T) {
	keys, uids, contents := objects(3)
	for i := range 3 {
		if len(contents[i]) != objectSize {
			t.Errorf("object %d is %d bytes, want %d", i, len(contents[i]), objectSize)
		}
		if uid, err := objsync.UIDOf(contents[i]); err != nil || uid != uids[i] {
			t.Errorf("object %d: uid %q, %v; want %q", i, uid, err, uids[i])
		}
	}
	if keys[0] == keys[1] || uids[1] == uids[2] {
		t.Errorf("objects not distinct: %v %v", keys, uids)
	}
}
