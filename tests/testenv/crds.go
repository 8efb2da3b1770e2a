package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// crdEstablishedTimeout bounds the wait for the apiserver to serve a CRD.
const crdEstablishedTimeout = 30 * time.Second

// crdGVR is apiextensions.k8s.io/v1 customresourcedefinitions; the dynamic
// client reaches it without the apiextensions module.
var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// DeviceCRDs returns the paths of the Device and DeviceModel CRDs,
// build/crds/devices.kubeedge.io_{devices,devicemodels}.yaml in the
// repository that holds the working directory.
func DeviceCRDs() []string {
	root := repoRoot()
	return []string{
		filepath.Join(root, "build", "crds", "devices.kubeedge.io_devicemodels.yaml"),
		filepath.Join(root, "build", "crds", "devices.kubeedge.io_devices.yaml"),
	}
}

// repoRoot is the nearest directory at or above the working directory with
// a go.mod (tests run in their package's directory); "." if none.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

// InstallCRDs creates (or, when they exist, replaces) every
// CustomResourceDefinition in the YAML files, which may hold several
// documents, and waits until the apiserver reports each Established. It
// fails the test on any error.
func (k *Kube) InstallCRDs(t T, files ...string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	crds := dyn.Resource(crdGVR)
	ctx, cancel := context.WithTimeout(context.Background(), crdEstablishedTimeout)
	defer cancel()
	var names []string
	for _, file := range files {
		objs, err := readCRDs(file)
		if err != nil {
			t.Fatalf("install CRDs: %v", err)
		}
		for _, obj := range objs {
			if err := applyCRD(ctx, crds, obj); err != nil {
				t.Fatalf("install CRD %s from %s: %v", obj.GetName(), file, err)
			}
			names = append(names, obj.GetName())
		}
	}
	for _, name := range names {
		WaitFor(t, crdEstablishedTimeout, "CRD "+name+" Established", func() error {
			return crdEstablished(ctx, crds, name)
		})
	}
}

// readCRDs decodes the CustomResourceDefinitions in file; any other kind is
// an error.
func readCRDs(file string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() != "CustomResourceDefinition" || !strings.HasPrefix(u.GetAPIVersion(), "apiextensions.k8s.io/") {
			return nil, fmt.Errorf("%s: %s %s is not a CustomResourceDefinition", file, u.GetAPIVersion(), u.GetKind())
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: no CustomResourceDefinition", file)
	}
	return objs, nil
}

// applyCRD creates obj, or replaces the CRD of that name.
func applyCRD(ctx context.Context, crds dynamic.NamespaceableResourceInterface, obj *unstructured.Unstructured) error {
	_, err := crds.Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	obj = obj.DeepCopy()
	obj.SetResourceVersion(cur.GetResourceVersion())
	_, err = crds.Update(ctx, obj, metav1.UpdateOptions{})
	return err
}

// crdEstablished is nil once CRD name has condition Established True.
func crdEstablished(ctx context.Context, crds dynamic.NamespaceableResourceInterface, name string) error {
	crd, err := crds.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" {
			if c["status"] == "True" {
				return nil
			}
			return fmt.Errorf("condition Established is %v: %v", c["status"], c["message"])
		}
	}
	return errors.New("no Established condition yet")
}
