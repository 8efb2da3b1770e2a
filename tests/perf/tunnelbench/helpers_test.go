package tunnelbench

import (
	"testing"

	"github.com/tether-edge/tether/common/objsync"
)

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
