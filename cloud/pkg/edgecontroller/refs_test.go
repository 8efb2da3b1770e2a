package edgecontroller

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cmRef(name string) objectRef     { return objectRef{Kind: "configmap", Namespace: "ns", Name: name} }
func secretRef(name string) objectRef { return objectRef{Kind: "secret", Namespace: "ns", Name: name} }

func local(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }

func cmKeyEnv(name string) corev1.EnvVar {
	return corev1.EnvVar{Name: "E", ValueFrom: &corev1.EnvVarSource{
		ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: local(name), Key: "k"}}}
}

func secretKeyEnv(name string) corev1.EnvVar {
	return corev1.EnvVar{Name: "E", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: local(name), Key: "k"}}}
}

func cmVolume(name string) corev1.Volume {
	return corev1.Volume{Name: "v-" + name, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: local(name)}}}
}

func secretVolume(name string) corev1.Volume {
	return corev1.Volume{Name: "v-" + name, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: name}}}
}

func TestPodRefs(t *testing.T) {
	optional := true
	tests := []struct {
		name string
		spec corev1.PodSpec
		want []objectRef
	}{
		{"nothing", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "1"}}}}}, nil},
		{"configmap volume", corev1.PodSpec{Volumes: []corev1.Volume{cmVolume("a")}}, []objectRef{cmRef("a")}},
		{"secret volume", corev1.PodSpec{Volumes: []corev1.Volume{secretVolume("s")}}, []objectRef{secretRef("s")}},
		{"projected sources", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: local("pc")}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: local("ps")}},
			}}}}}}, []objectRef{cmRef("pc"), secretRef("ps")}},
		{"env valueFrom", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{
			cmKeyEnv("ec"), secretKeyEnv("es"),
			{Name: "F", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		}}}}, []objectRef{cmRef("ec"), secretRef("es")}},
		{"envFrom", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: local("fc")}},
			{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: local("fs")}},
		}}}}, []objectRef{cmRef("fc"), secretRef("fs")}},
		{"init container", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i", Env: []corev1.EnvVar{cmKeyEnv("init")}}}},
			[]objectRef{cmRef("init")}},
		{"ephemeral container", corev1.PodSpec{EphemeralContainers: []corev1.EphemeralContainer{{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: local("eph")}}}}}}},
			[]objectRef{secretRef("eph")}},
		{"imagePullSecrets", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{local("pull"), local("pull2")}},
			[]objectRef{secretRef("pull"), secretRef("pull2")}},
		{"optional references count", corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "o", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: local("opt"), Optional: &optional}}}},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "O", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: local("optsec"), Key: "k", Optional: &optional}}}}}},
		}, []objectRef{cmRef("opt"), secretRef("optsec")}},
		{"empty names are skipped", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{local("")}, Volumes: []corev1.Volume{secretVolume("")}}, nil},
		{"a configmap and a secret of one name are two refs", corev1.PodSpec{Volumes: []corev1.Volume{cmVolume("x"), secretVolume("x")}},
			[]objectRef{cmRef("x"), secretRef("x")}},
		{"dedup and order: volumes, init, app, ephemeral, pull secrets", corev1.PodSpec{
			ImagePullSecrets: []corev1.LocalObjectReference{local("pull"), local("s1")},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "dbg", Env: []corev1.EnvVar{cmKeyEnv("eph"), cmKeyEnv("c1")}}}},
			Containers: []corev1.Container{
				{Name: "a", Env: []corev1.EnvVar{cmKeyEnv("app"), cmKeyEnv("c1")}, EnvFrom: []corev1.EnvFromSource{
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: local("s1")}}}},
				{Name: "b", Env: []corev1.EnvVar{secretKeyEnv("s2"), cmKeyEnv("app")}},
			},
			InitContainers: []corev1.Container{{Name: "i", Env: []corev1.EnvVar{cmKeyEnv("c1"), cmKeyEnv("init")}}},
			Volumes:        []corev1.Volume{cmVolume("c1"), secretVolume("s1"), cmVolume("c1")},
		}, []objectRef{cmRef("c1"), secretRef("s1"), cmRef("init"), cmRef("app"), secretRef("s2"), cmRef("eph"), secretRef("pull")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: tt.spec}
			got := podRefs(pod)
			if !slices.Equal(got, tt.want) {
				t.Errorf("podRefs:\n got %v\nwant %v", got, tt.want)
			}
			for i := range 3 { // stable: the same answer every time
				if again := podRefs(pod); !slices.Equal(again, got) {
					t.Fatalf("call %d gave %v, first gave %v", i, again, got)
				}
			}
		})
	}
}

func TestPodUsesServiceAccount(t *testing.T) {
	tests := []struct{ sa, want string }{{"", "default"}, {"robot", "robot"}}
	for _, tt := range tests {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
			Spec: corev1.PodSpec{ServiceAccountName: tt.sa, Volumes: []corev1.Volume{cmVolume("a")}}}
		want := []objectRef{cmRef("a"), {Kind: kindServiceAccount, Namespace: "ns", Name: tt.want}}
		if got := podUses(pod); !slices.Equal(got, want) {
			t.Errorf("serviceAccountName %q: podUses = %v, want %v", tt.sa, got, want)
		}
	}
}
