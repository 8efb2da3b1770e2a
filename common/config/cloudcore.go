package config

import (
	"os"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CloudCore is cloudcore's configuration file.
type CloudCore struct {
	TypeMeta `json:",inline"`
	// KubeAPI says how to reach the cluster's kube-apiserver.
	KubeAPI KubeAPI `json:"kubeAPI"`
	Logging Logging `json:"logging"`
	Bus     Bus     `json:"bus"`
	// Health defaults to 127.0.0.1:9091.
	Health Health `json:"health"`
}

// KubeAPI says how cloudcore reaches kube-apiserver.
type KubeAPI struct {
	// Kubeconfig is a kubeconfig file; empty means in-cluster config.
	Kubeconfig string `json:"kubeconfig"`
	// QPS and Burst limit cloudcore's requests. Defaults 50 and 100.
	QPS   float32 `json:"qps"`
	Burst int     `json:"burst"`
}

// DefaultCloudCore returns cloudcore's full default configuration.
func DefaultCloudCore() *CloudCore {
	return &CloudCore{
		TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: "CloudCore"},
		KubeAPI:  KubeAPI{QPS: 50, Burst: 100},
		Logging:  defaultLogging(),
		Bus:      defaultBus(),
		Health:   Health{Address: "127.0.0.1:9091"},
	}
}

// LoadCloudCore reads a CloudCore file over the defaults and validates it.
func LoadCloudCore(path string) (*CloudCore, error) {
	c := DefaultCloudCore()
	if err := loadFile(path, c, "CloudCore"); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports every invalid field, each with its path and the reason.
func (c *CloudCore) Validate() error {
	var errs field.ErrorList
	errs = append(errs, c.KubeAPI.validate(field.NewPath("kubeAPI"))...)
	errs = append(errs, c.Logging.validate(field.NewPath("logging"))...)
	errs = append(errs, c.Bus.validate(field.NewPath("bus"))...)
	errs = append(errs, c.Health.validate(field.NewPath("health"))...)
	return errs.ToAggregate()
}

// YAML renders c as a config file, for --defaultconfig.
func (c *CloudCore) YAML() ([]byte, error) { return marshal(c) }

func (c *CloudCore) typeMeta() TypeMeta { return c.TypeMeta }

func (k KubeAPI) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if k.Kubeconfig != "" {
		if _, err := os.Stat(k.Kubeconfig); err != nil {
			errs = append(errs, field.Invalid(p.Child("kubeconfig"), k.Kubeconfig, err.Error()))
		}
	}
	if k.QPS <= 0 {
		errs = append(errs, field.Invalid(p.Child("qps"), k.QPS, "must be positive"))
	}
	if k.Burst < 1 {
		errs = append(errs, field.Invalid(p.Child("burst"), k.Burst, "must be at least 1"))
	}
	return errs
}
