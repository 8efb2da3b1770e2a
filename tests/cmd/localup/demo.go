package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/tests/testenv"
)

// demoManifest is the demo DeviceModel and Device, REFERENCE.md's sample.
//
//go:embed demo-devices.yaml
var demoManifest []byte

// demoAppManifest is the demo Deployment.
//
//go:embed demo-app.yaml
var demoAppManifest []byte

// demoApp decodes demoAppManifest strictly.
func demoApp() (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(demoAppManifest, &d); err != nil {
		return nil, fmt.Errorf("demo app manifest: %w", err)
	}
	return &d, nil
}

// applyDemoApp creates the demo Deployment, or updates it to the manifest.
func applyDemoApp(t testenv.T, client kubernetes.Interface) *appsv1.Deployment {
	t.Helper()
	want, err := demoApp()
	if err != nil {
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.AppsV1().Deployments(want.Namespace)
	cur, err := c.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		want.ResourceVersion = cur.ResourceVersion
		_, err = c.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("apply Deployment %s/%s: %v", want.Namespace, want.Name, err)
	}
	return want
}

// waitDemoPod waits until a pod of the demo Deployment runs, ready, on
// node, and returns its name.
func waitDemoPod(t testenv.T, client kubernetes.Interface, app *appsv1.Deployment, node string) string {
	t.Helper()
	var name string
	testenv.WaitFor(t, 3*time.Minute, "a Running demo pod on "+node, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pods, err := client.CoreV1().Pods(app.Namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(app.Spec.Selector)})
		if err != nil {
			return err
		}
		var seen []string
		for _, p := range pods.Items {
			if p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning && testenv.PodReady(&p) && p.DeletionTimestamp == nil {
				name = p.Name
				return nil
			}
			seen = append(seen, fmt.Sprintf("%s on %q: %s", p.Name, p.Spec.NodeName, p.Status.Phase))
		}
		return fmt.Errorf("pods: %v", seen)
	})
	return name
}

// waitNodeReady waits until node reports Ready.
func waitNodeReady(t testenv.T, client kubernetes.Interface, node string) {
	t.Helper()
	testenv.WaitFor(t, 2*time.Minute, "node "+node+" Ready", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !testenv.NodeReady(n) {
			return fmt.Errorf("conditions %v", n.Status.Conditions)
		}
		return nil
	})
}

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
