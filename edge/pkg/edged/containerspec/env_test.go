package containerspec

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeObjects serves configmaps and secrets from maps, keyed by name.
type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
	err     error
}

func (f fakeObjects) ConfigMap(_, name string) (*corev1.ConfigMap, error) { return f.cms[name], f.err }
func (f fakeObjects) Secret(_, name string) (*corev1.Secret, error)       { return f.secrets[name], f.err }

var objs = fakeObjects{
	cms: map[string]*corev1.ConfigMap{"app": {
		Data:       map[string]string{"MODE": "fast", "LEVEL": "3", "bad=key": "skipped"},
		BinaryData: map[string][]byte{"BLOB": []byte("raw")},
	}},
	secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"PASSWORD": []byte("s3cret")}}},
}

var testPod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
	Name: "web", Namespace: "shop", UID: "u-1",
	Labels: map[string]string{"app": "web", "tier": "front"},
}, Spec: corev1.PodSpec{ServiceAccountName: "runner"}}

func optional() *bool { b := true; return &b }

func cmKey(name, key string, opt *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: opt}}
}

func secretKey(name, key string, opt *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: opt}}
}

func field(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func TestEnv(t *testing.T) {
	d := Downward{NodeName: "edge-1", PodIP: "10.88.0.7", HostIP: "192.0.2.1"}
	cases := []struct {
		name    string
		c       corev1.Container
		want    []EnvVar
		wantErr string
	}{
		{name: "values and expansion", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", Value: "one"},
			{Name: "B", Value: "$(A)-two $(MISSING) $$(A) cost$$5"},
		}}, want: []EnvVar{{"A", "one"}, {"B", "one-two $(MISSING) $(A) cost$5"}}},
		{name: "envFrom with prefix, invalid keys skipped, env overrides", c: corev1.Container{
			EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}},
				{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			},
			Env: []corev1.EnvVar{{Name: "MODE", Value: "slow"}},
		}, want: []EnvVar{{"BLOB", "raw"}, {"LEVEL", "3"}, {"MODE", "slow"}, {"S_PASSWORD", "s3cret"}}},
		{name: "configmap and secret keys", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "M", ValueFrom: cmKey("app", "MODE", nil)},
			{Name: "P", ValueFrom: secretKey("creds", "PASSWORD", nil)},
			{Name: "BIN", ValueFrom: cmKey("app", "BLOB", nil)},
		}}, want: []EnvVar{{"M", "fast"}, {"P", "s3cret"}, {"BIN", "raw"}}},
		{name: "optional absent references define nothing", c: corev1.Container{
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: optional()}}},
			Env: []corev1.EnvVar{
				{Name: "X", ValueFrom: cmKey("nope", "k", optional())},
				{Name: "Y", ValueFrom: secretKey("creds", "nokey", optional())},
			},
		}, want: nil},
		{name: "downward API", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "NAME", ValueFrom: field("metadata.name")},
			{Name: "NS", ValueFrom: field("metadata.namespace")},
			{Name: "UID", ValueFrom: field("metadata.uid")},
			{Name: "APP", ValueFrom: field("metadata.labels['app']")},
			{Name: "LABELS", ValueFrom: field("metadata.labels")},
			{Name: "NODE", ValueFrom: field("spec.nodeName")},
			{Name: "IP", ValueFrom: field("status.podIP")},
			{Name: "HOST", ValueFrom: field("status.hostIP")},
			{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
		}}, want: []EnvVar{
			{"NAME", "web"}, {"NS", "shop"}, {"UID", "u-1"}, {"APP", "web"},
			{"LABELS", "app=\"web\"\ntier=\"front\""}, {"NODE", "edge-1"}, {"IP", "10.88.0.7"},
			{"HOST", "192.0.2.1"}, {"SA", "runner"},
		}},
		{name: "missing configmap", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: cmKey("nope", "k", nil)}}},
			wantErr: "container main: env X: configmap shop/nope not found"},
		{name: "missing key", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("creds", "nokey", nil)}}},
			wantErr: `container main: env X: key "nokey" not found in secret shop/creds`},
		{name: "missing envFrom secret", c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}}}},
			wantErr: "container main: secret shop/gone not found"},
		{name: "unsupported field path", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("spec.hostname")}}},
			wantErr: `container main: env X: field path "spec.hostname" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.c.Name = "main"
			got, err := Env(testPod, &c.c, objs, d)
			if c.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || err.Error() != c.wantErr {
					t.Fatalf("err %v; want ConfigError %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("env\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestEnvReadError(t *testing.T) {
	broken := fakeObjects{err: errors.New("store closed")}
	c := &corev1.Container{Name: "main", Env: []corev1.EnvVar{{Name: "X", ValueFrom: cmKey("app", "MODE", nil)}}}
	if _, err := Env(testPod, c, broken, Downward{}); err == nil || !errors.Is(err, broken.err) {
		t.Fatalf("err %v; want the read error named", err)
	}
}
