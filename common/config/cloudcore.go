package config

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// CloudCore is cloudcore's configuration file.
type CloudCore struct {
	TypeMeta `json:",inline"`
	Logging  Logging `json:"logging"`
	Bus      Bus     `json:"bus"`
	// Health defaults to 127.0.0.1:9091.
	Health   Health   `json:"health"`
	KubeAPI  KubeAPI  `json:"kubeAPI"`
	CloudHub CloudHub `json:"cloudHub"`
	// DeviceController defaults to enabled.
	DeviceController DeviceController `json:"deviceController"`
	// CloudStream defaults to enabled.
	CloudStream CloudStream `json:"cloudStream"`
}

// DeviceController configures the module that sends each node its Devices
// and DeviceModels (devices.kubeedge.io/v1beta1) and writes the device
// status nodes report.
type DeviceController struct {
	// Enable runs DeviceController. Default true. While it runs, CloudHub
	// admits nodes only after it has listed Devices and DeviceModels, so
	// their CRDs must be installed; false leaves devices out entirely.
	Enable bool `json:"enable"`
}

// DefaultCloudCore returns cloudcore's full default configuration.
func DefaultCloudCore() *CloudCore {
	return &CloudCore{
		TypeMeta:         TypeMeta{APIVersion: APIVersion, Kind: "CloudCore"},
		Logging:          defaultLogging(),
		Bus:              defaultBus(),
		Health:           Health{Address: "127.0.0.1:9091"},
		KubeAPI:          defaultKubeAPI(),
		CloudHub:         defaultCloudHub(),
		DeviceController: DeviceController{Enable: true},
		CloudStream:      defaultCloudStream(),
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
	errs = append(errs, c.Logging.validate(field.NewPath("logging"))...)
	errs = append(errs, c.Bus.validate(field.NewPath("bus"))...)
	errs = append(errs, c.Health.validate(field.NewPath("health"))...)
	errs = append(errs, c.KubeAPI.validate(field.NewPath("kubeAPI"))...)
	errs = append(errs, c.CloudHub.validate(field.NewPath("cloudHub"))...)
	errs = append(errs, c.CloudStream.validate(field.NewPath("cloudStream"), c.CloudHub)...)
	return errs.ToAggregate()
}

// YAML renders c as a config file, for --defaultconfig.
func (c *CloudCore) YAML() ([]byte, error) { return yaml.Marshal(c) }
