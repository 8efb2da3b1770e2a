package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

// The folders under <pod>/volumes that hold each kind of volume; the
// kubelet's plugin names, so the layout reads as it does on a kubelet host.
const (
	kindEmptyDir  = "kubernetes.io~empty-dir"
	kindConfigMap = "kubernetes.io~configmap"
	kindSecret    = "kubernetes.io~secret"
	kindDownward  = "kubernetes.io~downward-api"
	kindProjected = "kubernetes.io~projected"
)

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// PodsDir holds one folder per pod, <PodsDir>/<uid>, with its volumes in
	// <PodsDir>/<uid>/volumes/<kind>/<name>. Required; created (0750) if
	// missing.
	PodsDir string
	// Logger is required.
	Logger *slog.Logger
	// Objects gives the configmaps and secrets volumes use. Required.
	Objects Objects
	// Token returns a service-account token for a projected
	// serviceAccountToken source; nil refuses such volumes.
	Token func(pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error)
}

func (o *ManagerOptions) validate() error {
	switch {
	case o.PodsDir == "":
		return errors.New("volume manager: PodsDir is required")
	case o.Logger == nil:
		return errors.New("volume manager: Logger is required")
	case o.Objects == nil:
		return errors.New("volume manager: Objects is required")
	}
	return nil
}

// Manager sets up and tears down the volumes of the node's pods. It keeps
// no state of its own between calls: everything it knows is on disk, so a
// restarted Edged picks up where the last one stopped.
type Manager struct {
	// podsDir is ManagerOptions.PodsDir, absolute and with symlinks
	// resolved, so it matches the mount table.
	podsDir string
	log     *slog.Logger
	objects Objects
	token   func(*corev1.Pod, *corev1.ServiceAccountTokenProjection) ([]byte, error)
}

// NewManager checks o and makes PodsDir exist.
func NewManager(o ManagerOptions) (*Manager, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.PodsDir, 0o750); err != nil {
		return nil, fmt.Errorf("volume manager: %w", err)
	}
	dir, err := filepath.Abs(o.PodsDir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("volume manager: pods dir: %w", err)
	}
	return &Manager{podsDir: dir, log: o.Logger, objects: o.Objects, token: o.Token}, nil
}

// Volumes is the host path of each of a pod's volumes, by volume name.
type Volumes map[string]string

// SetUp makes every volume of pod exist and hold its current content; it
// is idempotent and cheap when nothing changed (configMap, secret,
// downwardAPI and projected files are compared, not rewritten). d is the
// pod's downward-API values. It sets up every volume it can and returns
// their paths with the errors of the others joined; a volume that fails
// keeps its old content.
func (m *Manager) SetUp(pod *corev1.Pod, d containerspec.Downward) (Volumes, error) {
	if err := checkUID(pod.UID); err != nil {
		return nil, err
	}
	// The pod's folder exists even without volumes in it, so Pods lists
	// every pod set up here.
	if err := os.MkdirAll(filepath.Join(m.podDir(pod.UID), "volumes"), 0o750); err != nil {
		return nil, fmt.Errorf("set up pod %s: %w", pod.UID, err)
	}
	src := Sources{Objects: m.objects, Downward: d, Token: m.token}
	vols := make(Volumes, len(pod.Spec.Volumes))
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		path, err := m.setUpVolume(pod, v, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vols[v.Name] = path
	}
	return vols, errors.Join(errs...)
}

func (m *Manager) setUpVolume(pod *corev1.Pod, v *corev1.Volume, src Sources) (string, error) {
	switch {
	case v.HostPath != nil:
		return setUpHostPath(v)
	case v.EmptyDir != nil:
		return m.setUpEmptyDir(pod.UID, v)
	}
	kind, private := payloadKind(v)
	if kind == "" {
		return "", fmt.Errorf("volume %s: type %s is not supported on edge nodes", v.Name, volumeType(v))
	}
	files, _, err := Payload(pod, v, src)
	if err != nil {
		return "", err
	}
	kindDir := m.kindDir(pod.UID, kind)
	mode := fs.FileMode(0o755)
	if private {
		mode = 0o700 // other host users must not read secrets through the folder
	}
	if err := ensureDir(kindDir, mode); err != nil {
		return "", fmt.Errorf("volume %s: %w", v.Name, err)
	}
	dir := filepath.Join(kindDir, v.Name)
	w := AtomicWriter{Dir: dir}
	changed, err := w.Write(files)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", v.Name, err)
	}
	if changed {
		m.log.Info("volume content written", "pod", podRef(pod), "volume", v.Name, "files", len(files))
	}
	return dir, nil
}

// payloadKind names the folder of an AtomicWriter volume and whether it is
// private to root on the host; "" for other volumes.
func payloadKind(v *corev1.Volume) (kind string, private bool) {
	switch {
	case v.ConfigMap != nil:
		return kindConfigMap, false
	case v.Secret != nil:
		return kindSecret, true
	case v.DownwardAPI != nil:
		return kindDownward, false
	case v.Projected != nil:
		return kindProjected, true
	}
	return "", false
}

// volumeType names v's source as the API spells it ("persistentVolumeClaim").
func volumeType(v *corev1.Volume) string {
	rv := reflect.ValueOf(v.VolumeSource)
	for i := range rv.NumField() {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "(none)"
}

// TearDown removes the pod's folder, <PodsDir>/<uid>, with everything in
// it: first it unmounts whatever is mounted below it (memory-backed
// emptyDirs), and it removes nothing while a mount remains. A pod without
// a folder is no error.
func (m *Manager) TearDown(uid types.UID) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	dir := m.podDir(uid)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unmountBelow(dir); err != nil {
		return fmt.Errorf("tear down pod %s: %w", uid, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("tear down pod %s: %w", uid, err)
	}
	m.log.Info("pod volumes removed", "uid", uid)
	return nil
}

// Pods lists the UIDs of the pods that have a folder under PodsDir,
// sorted; Edged tears down those it no longer runs after a restart.
func (m *Manager) Pods() ([]types.UID, error) {
	entries, err := os.ReadDir(m.podsDir)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var uids []types.UID
	for _, e := range entries {
		if e.IsDir() {
			uids = append(uids, types.UID(e.Name()))
		}
	}
	slices.Sort(uids)
	return uids, nil
}

func (m *Manager) podDir(uid types.UID) string { return filepath.Join(m.podsDir, string(uid)) }

func (m *Manager) kindDir(uid types.UID, kind string) string {
	return filepath.Join(m.podDir(uid), "volumes", kind)
}

// checkUID refuses UIDs that are not one path element: a UID names the
// folder TearDown removes.
func checkUID(uid types.UID) error {
	s := string(uid)
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
		return fmt.Errorf("pod UID %q cannot name a folder", s)
	}
	return nil
}

// ensureDir makes dir (and its parents) exist and gives dir exactly mode,
// whatever the umask or an earlier run left.
func ensureDir(dir string, mode fs.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm() != mode {
		return os.Chmod(dir, mode)
	}
	return nil
}

func podRef(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }
