package nodestatus

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tether-edge/tether/common/config"
)

// rootFS is the filesystem always watched for DiskPressure.
const rootFS = "/"

// thresholds say when the pressure conditions are True; a zero field never
// makes its condition True.
type thresholds struct {
	// memoryAvailable: MemoryPressure when less memory is available, in bytes.
	memoryAvailable int64
	// diskPercent: DiskPressure when less of a watched filesystem is available.
	diskPercent int64
	// pidPercent: PIDPressure when fewer of the PIDs are free.
	pidPercent int64
}

// newThresholds reads p; an empty MemoryAvailable is none.
func newThresholds(p config.Pressure) (thresholds, error) {
	t := thresholds{diskPercent: int64(p.DiskAvailablePercent), pidPercent: int64(p.PIDAvailablePercent)}
	if p.MemoryAvailable != "" {
		q, err := resource.ParseQuantity(p.MemoryAvailable)
		if err != nil || q.Sign() < 0 {
			return thresholds{}, fmt.Errorf("Pressure.MemoryAvailable %q: want a quantity of at least 0", p.MemoryAvailable)
		}
		t.memoryAvailable = q.Value()
	}
	for name, v := range map[string]int64{"DiskAvailablePercent": t.diskPercent, "PIDAvailablePercent": t.pidPercent} {
		if v < 0 || v > 100 {
			return thresholds{}, fmt.Errorf("Pressure.%s %d: want 0 to 100", name, v)
		}
	}
	return t, nil
}

// set says whether any condition can be True, so the host must be read.
func (t thresholds) set() bool {
	return t.memoryAvailable > 0 || t.diskPercent > 0 || t.pidPercent > 0
}

// underPressure says which pressure conditions the readings r make True
// under t: less than the threshold available is pressure, exactly the
// threshold is not.
func underPressure(r PressureReadings, t thresholds) map[corev1.NodeConditionType]bool {
	disk := false
	for _, fs := range r.FileSystems {
		if fs.TotalBytes > 0 && float64(fs.AvailableBytes) < float64(fs.TotalBytes)*float64(t.diskPercent)/100 {
			disk = true
		}
	}
	pid := r.PIDMax > 0 && (r.PIDMax-r.PIDs)*100 < t.pidPercent*r.PIDMax
	return map[corev1.NodeConditionType]bool{
		corev1.NodeMemoryPressure: r.MemAvailableBytes < t.memoryAvailable,
		corev1.NodeDiskPressure:   disk,
		corev1.NodePIDPressure:    pid,
	}
}

// pressureKind is a pressure condition with the kubelet's reasons and
// messages for each status.
type pressureKind struct {
	typ                       corev1.NodeConditionType
	reasonFalse, messageFalse string
	reasonTrue, messageTrue   string
}

var pressureKinds = []pressureKind{
	{corev1.NodeMemoryPressure,
		"KubeletHasSufficientMemory", "kubelet has sufficient memory available",
		"KubeletHasInsufficientMemory", "kubelet has insufficient memory available"},
	{corev1.NodeDiskPressure,
		"KubeletHasNoDiskPressure", "kubelet has no disk pressure",
		"KubeletHasDiskPressure", "kubelet has disk pressure"},
	{corev1.NodePIDPressure,
		"KubeletHasSufficientPID", "kubelet has sufficient PID available",
		"KubeletHasInsufficientPID", "kubelet has insufficient PID available"},
}
