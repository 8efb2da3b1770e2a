package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/tests/testenv"
)

// demoManifest is the demo DeviceModel and Device, REFERENCE.md's sample.
//
//go:embed demo-devices.yaml
var demoManifest []byte

// demoObjects decodes demoManifest, its Device served by node.
func demoObjects(node string) (*v1beta1.DeviceModel, *v1beta1.Device, error) {
	m, err := v1beta1.DecodeManifest(demoManifest)
	if err != nil {
		return nil, nil, fmt.Errorf("demo manifest: %w", err)
	}
	if len(m.Models) != 1 || len(m.Devices) != 1 {
		return nil, nil, errors.New("demo manifest: want one DeviceModel and one Device")
	}
	dev := m.Devices[0]
	dev.Spec.NodeName = node
	return m.Models[0], dev, nil
}

// applyDemo creates the demo DeviceModel and Device, or updates them to
// the manifest when they exist.
func applyDemo(t testenv.T, kube *testenv.Kube, node string) {
	t.Helper()
	model, dev, err := demoObjects(node)
	if err != nil {
		t.Fatalf("%v", err)
	}
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	c := client.New(dyn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := applyModel(ctx, c.DeviceModels(model.Namespace), model); err != nil {
		t.Fatalf("apply DeviceModel %s/%s: %v", model.Namespace, model.Name, err)
	}
	if err := applyDevice(ctx, c.Devices(dev.Namespace), dev); err != nil {
		t.Fatalf("apply Device %s/%s: %v", dev.Namespace, dev.Name, err)
	}
}

func applyModel(ctx context.Context, c *client.DeviceModelClient, model *v1beta1.DeviceModel) error {
	cur, err := c.Get(ctx, model.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, model, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	model.ResourceVersion = cur.ResourceVersion
	_, err = c.Update(ctx, model, metav1.UpdateOptions{})
	return err
}

func applyDevice(ctx context.Context, c *client.DeviceClient, dev *v1beta1.Device) error {
	cur, err := c.Get(ctx, dev.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, dev, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	dev.ResourceVersion = cur.ResourceVersion
	_, err = c.Update(ctx, dev, metav1.UpdateOptions{})
	return err
}

// demoDevice is the demo Device, namespace/name as in demoManifest.
const demoDevice = "default/thermo-1"
