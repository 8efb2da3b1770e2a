package edgecontroller

import (
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// objectJSON encodes obj, an answer of the apiserver, in the edge's form
// (setEdgeForm). It changes obj, so obj must be the caller's own.
func objectJSON(obj runtime.Object) ([]byte, error) {
	setEdgeForm(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	return b, nil
}

// isConflictOrExists is what a get-then-create-or-update loop retries on.
func isConflictOrExists(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}
