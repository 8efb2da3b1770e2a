package volume

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

type objects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (o objects) ConfigMap(_, name string) (*corev1.ConfigMap, error) { return o.cms[name], nil }
func (o objects) Secret(_, name string) (*corev1.Secret, error)       { return o.secrets[name], nil }

var store = objects{
	cms: map[string]*corev1.ConfigMap{"app": {
		Data:       map[string]string{"mode": "fast", "level": "3"},
		BinaryData: map[string][]byte{"blob": {0, 1}},
	}},
	secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"password": []byte("s3cret")}}},
}

var pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u-1", Labels: map[string]string{"app": "web"}}}

func ptr[T any](v T) *T { return &v }

func TestPayload(t *testing.T) {
	src := Sources{
		Objects:  store,
		Downward: containerspec.Downward{NodeName: "edge-1"},
		Token: func(pd *corev1.Pod, p *corev1.ServiceAccountTokenProjection) ([]byte, error) {
			return []byte("token-for-" + pd.Name + "-" + p.Audience), nil
		},
	}
	cases := []struct {
		name    string
		vol     corev1.VolumeSource
		want    map[string]File
		wantErr string
	}{
		{"configmap, every key", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}},
			map[string]File{"mode": {[]byte("fast"), 0o644}, "level": {[]byte("3"), 0o644}, "blob": {[]byte{0, 1}, 0o644}}, ""},
		{"configmap items with modes", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, DefaultMode: ptr[int32](0o440),
			Items: []corev1.KeyToPath{{Key: "mode", Path: "conf/mode"}, {Key: "level", Path: "lvl", Mode: ptr[int32](0o400)}},
		}}, map[string]File{"conf/mode": {[]byte("fast"), 0o440}, "lvl": {[]byte("3"), 0o400}}, ""},
		{"secret with default mode", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr[int32](0o400)}},
			map[string]File{"password": {[]byte("s3cret"), 0o400}}, ""},
		{"missing configmap", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
			nil, "volume v: configmap shop/nope not found"},
		{"missing optional secret", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope", Optional: ptr(true)}},
			map[string]File{}, ""},
		{"missing item key", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", Items: []corev1.KeyToPath{{Key: "user", Path: "u"}}}},
			nil, `volume v: key "user" not found in secret shop/creds`},
		{"downward API", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		}}}, map[string]File{"name": {[]byte("web"), 0o644}, "labels": {[]byte(`app="web"`), 0o644}}, ""},
		{"projected", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr[int32](0o444), Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, Items: []corev1.KeyToPath{{Key: "mode", Path: "mode"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", Audience: "api"}},
		}}}, map[string]File{
			"mode": {[]byte("fast"), 0o444}, "password": {[]byte("s3cret"), 0o444},
			"ns": {[]byte("shop"), 0o444}, "token": {[]byte("token-for-web-api"), 0o444},
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := Payload(pod, &corev1.Volume{Name: "v", VolumeSource: c.vol}, src)
			if !ok {
				t.Fatal("no payload for a payload volume")
			}
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("payload\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestPayloadOtherVolumesAndTokenErrors(t *testing.T) {
	if _, ok, err := Payload(pod, &corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, Sources{}); ok || err != nil {
		t.Fatalf("emptyDir: ok %v err %v; want no payload", ok, err)
	}
	tokenVol := &corev1.Volume{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
	}}}}
	if _, _, err := Payload(pod, tokenVol, Sources{Objects: store}); err == nil {
		t.Fatal("a token source without a Token func was accepted")
	}
	offline := errors.New("the cloud is not connected")
	_, _, err := Payload(pod, tokenVol, Sources{Objects: store, Token: func(*corev1.Pod, *corev1.ServiceAccountTokenProjection) ([]byte, error) { return nil, offline }})
	if !errors.Is(err, offline) {
		t.Fatalf("err %v; want the token error wrapped", err)
	}
}
