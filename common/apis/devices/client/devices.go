package client

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

// DeviceClient reads and writes the Devices of one namespace (or, for List
// and Watch, of all).
type DeviceClient struct {
	ri dynamic.ResourceInterface
}

// Get returns the Device called name.
func (c *DeviceClient) Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1beta1.Device, error) {
	return result[v1beta1.Device](c.ri.Get(ctx, name, opts))
}

// List returns the Devices that opts select, e.g. FieldSelector
// "spec.nodeName=edge-1" for one node's.
func (c *DeviceClient) List(ctx context.Context, opts metav1.ListOptions) (*v1beta1.DeviceList, error) {
	return listResult[v1beta1.DeviceList](c.ri.List(ctx, opts))
}

// Watch watches the Devices that opts select; event objects are
// *v1beta1.Device.
func (c *DeviceClient) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return typedWatch[v1beta1.Device](c.ri.Watch(ctx, opts))
}

// Create creates dev (its status is ignored) and returns it as stored.
func (c *DeviceClient) Create(ctx context.Context, dev *v1beta1.Device, opts metav1.CreateOptions) (*v1beta1.Device, error) {
	u, err := toUnstructured(dev, v1beta1.DeviceKind)
	if err != nil {
		return nil, err
	}
	return result[v1beta1.Device](c.ri.Create(ctx, u, opts))
}

// Update replaces dev's metadata and spec (its status is ignored); a stale
// resourceVersion fails with a Conflict.
func (c *DeviceClient) Update(ctx context.Context, dev *v1beta1.Device, opts metav1.UpdateOptions) (*v1beta1.Device, error) {
	u, err := toUnstructured(dev, v1beta1.DeviceKind)
	if err != nil {
		return nil, err
	}
	return result[v1beta1.Device](c.ri.Update(ctx, u, opts))
}

// UpdateStatus replaces dev's status through the status subresource (its
// spec is ignored); a stale resourceVersion fails with a Conflict.
func (c *DeviceClient) UpdateStatus(ctx context.Context, dev *v1beta1.Device, opts metav1.UpdateOptions) (*v1beta1.Device, error) {
	u, err := toUnstructured(dev, v1beta1.DeviceKind)
	if err != nil {
		return nil, err
	}
	return result[v1beta1.Device](c.ri.UpdateStatus(ctx, u, opts))
}

// Delete deletes the Device called name.
func (c *DeviceClient) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.ri.Delete(ctx, name, opts)
}
