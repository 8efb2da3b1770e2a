package podruntime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pullKey names one image of one pod for the pull back-off.
type pullKey struct {
	uid   types.UID
	image string
}

// pullBackoff is the delay owed after the last failed pull of a key.
type pullBackoff struct {
	delay time.Duration
	until time.Time
}

// ensureImage makes sure c's image is present as its pull policy asks,
// pulling it when needed. Failures are *StartError.
func (m *Manager) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sandbox *runtimeapi.PodSandboxConfig) error {
	spec := &runtimeapi.ImageSpec{Image: c.Image}
	if c.ImagePullPolicy != corev1.PullAlways {
		present, _, err := m.cri.ImageStatus(ctx, spec)
		if err != nil {
			return &StartError{Reason: ReasonImageInspect, Message: fmt.Sprintf("Failed to inspect image %q: %v", c.Image, err)}
		}
		if present {
			return nil
		}
		if c.ImagePullPolicy == corev1.PullNever {
			return &StartError{Reason: ReasonErrImageNeverPull,
				Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)}
		}
	}
	key := pullKey{pod.UID, c.Image}
	if m.inPullBackoff(key) {
		return &StartError{Reason: ReasonImagePullBackOff, Message: fmt.Sprintf("Back-off pulling image %q", c.Image)}
	}
	ref, err := m.cri.PullImage(ctx, spec, m.pullAuth(pod, c.Image), sandbox)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("pull image %s: %w", c.Image, ctx.Err())
		}
		m.pullFailed(key)
		return &StartError{Reason: ReasonErrImagePull, Message: err.Error()}
	}
	m.pullSucceeded(key)
	m.log.Info("pulled image", "pod", podName(pod), "container", c.Name, "image", c.Image, "ref", ref)
	return nil
}

// inPullBackoff reports whether the key's last pull failed less than its
// delay ago.
func (m *Manager) inPullBackoff(k pullKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.pulls[k]
	return ok && m.now().Before(b.until)
}

// pullFailed starts or doubles the key's back-off.
func (m *Manager) pullFailed(k pullKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.pulls[k]
	if ok {
		b.delay = min(2*b.delay, m.pullMax)
	} else {
		b.delay = m.pullInitial
	}
	b.until = m.now().Add(b.delay)
	m.pulls[k] = b
}

func (m *Manager) pullSucceeded(k pullKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pulls, k)
}

// dockerAuth is one registry's entry of a .dockerconfigjson or .dockercfg.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// pullAuth returns the credentials of the first of the pod's
// imagePullSecrets with an entry for the image's registry host, or nil.
// Secrets that are missing or unreadable are logged and skipped, as the
// kubelet does: the pull may still work anonymously.
func (m *Manager) pullAuth(pod *corev1.Pod, image string) *runtimeapi.AuthConfig {
	host := registryHost(image)
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := m.objects.Secret(pod.Namespace, ref.Name)
		if err != nil || s == nil {
			m.log.Warn("image pull secret unavailable", "pod", podName(pod), "secret", ref.Name, "err", err)
			continue
		}
		auths, err := secretAuths(s)
		if err != nil {
			m.log.Warn("image pull secret unreadable", "pod", podName(pod), "secret", ref.Name, "err", err)
			continue
		}
		for registry, a := range auths {
			if normalizeRegistry(registry) == host {
				return authConfig(host, a)
			}
		}
	}
	return nil
}

// secretAuths reads the registry entries of a dockerconfigjson or
// dockercfg secret.
func secretAuths(s *corev1.Secret) (map[string]dockerAuth, error) {
	if data, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", corev1.DockerConfigJsonKey, err)
		}
		return cfg.Auths, nil
	}
	if data, ok := s.Data[corev1.DockerConfigKey]; ok {
		var auths map[string]dockerAuth
		if err := json.Unmarshal(data, &auths); err != nil {
			return nil, fmt.Errorf("%s: %w", corev1.DockerConfigKey, err)
		}
		return auths, nil
	}
	return nil, fmt.Errorf("no %s or %s key", corev1.DockerConfigJsonKey, corev1.DockerConfigKey)
}

func authConfig(host string, a dockerAuth) *runtimeapi.AuthConfig {
	if a.Username == "" && a.Password == "" && a.Auth != "" {
		if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			a.Username, a.Password, _ = strings.Cut(string(raw), ":")
		}
	}
	return &runtimeapi.AuthConfig{
		Username: a.Username, Password: a.Password, Auth: a.Auth, ServerAddress: host,
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
	}
}

// dockerHub is the registry host of images named without one.
const dockerHub = "docker.io"

// registryHost is the registry an image reference names: its first path
// component when that looks like a host (has a '.' or ':', or is
// localhost), else Docker Hub.
func registryHost(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if !ok || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return dockerHub
	}
	return normalizeRegistry(first)
}

// normalizeRegistry reduces a docker config key (a host, or a URL such as
// https://index.docker.io/v1/) to its lower-case host, Docker Hub's
// aliases to docker.io.
func normalizeRegistry(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, _, _ := strings.Cut(key, "/")
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return host
}
