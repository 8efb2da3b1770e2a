package config

import (
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// EdgeCore is edgecore's configuration file.
type EdgeCore struct {
	TypeMeta `json:",inline"`
	// NodeName is this edge node's name in the cluster; it must be a
	// DNS-1123 subdomain. Default: the host name, lower-cased.
	NodeName string  `json:"nodeName"`
	Logging  Logging `json:"logging"`
	Bus      Bus     `json:"bus"`
	// Health defaults to 127.0.0.1:9092.
	Health      Health      `json:"health"`
	EdgeHub     EdgeHub     `json:"edgeHub"`
	MetaManager MetaManager `json:"metaManager"`
	NodeStatus  NodeStatus  `json:"nodeStatus"`
	Edged       Edged       `json:"edged"`
	EventBus    EventBus    `json:"eventBus"`
	EdgeStream  EdgeStream  `json:"edgeStream"`
}

// DefaultEdgeCore returns edgecore's full default configuration on this
// machine.
func DefaultEdgeCore() *EdgeCore {
	host, _ := os.Hostname()
	return DefaultEdgeCoreFor(host)
}

// DefaultEdgeCoreFor returns the defaults on a machine named host: the
// node name and the MQTT client ID derive from it, lower-cased.
func DefaultEdgeCoreFor(host string) *EdgeCore {
	return &EdgeCore{
		TypeMeta:    TypeMeta{APIVersion: APIVersion, Kind: "EdgeCore"},
		NodeName:    strings.ToLower(host),
		Logging:     defaultLogging(),
		Bus:         defaultBus(),
		Health:      Health{Address: "127.0.0.1:9092"},
		EdgeHub:     defaultEdgeHub(),
		MetaManager: defaultMetaManager(),
		NodeStatus:  defaultNodeStatus(),
		Edged:       defaultEdged(),
		EventBus:    defaultEventBus(strings.ToLower(host)),
		EdgeStream:  defaultEdgeStream(),
	}
}

// DecodeEdgeCore decodes an EdgeCore file's content over the defaults,
// strictly, and validates it; LoadEdgeCore is the same for a path.
func DecodeEdgeCore(data []byte) (*EdgeCore, error) {
	c := DefaultEdgeCore()
	if err := decodeStrict(data, c, "EdgeCore"); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadEdgeCore reads an EdgeCore file over the defaults and validates it.
func LoadEdgeCore(path string) (*EdgeCore, error) {
	c := DefaultEdgeCore()
	if err := loadFile(path, c, "EdgeCore"); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports every invalid field, each with its path and the reason.
func (c *EdgeCore) Validate() error {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(c.NodeName) {
		errs = append(errs, field.Invalid(field.NewPath("nodeName"), c.NodeName, msg))
	}
	errs = append(errs, c.Logging.validate(field.NewPath("logging"))...)
	errs = append(errs, c.Bus.validate(field.NewPath("bus"))...)
	errs = append(errs, c.Health.validate(field.NewPath("health"))...)
	errs = append(errs, c.EdgeHub.validate(field.NewPath("edgeHub"))...)
	errs = append(errs, c.MetaManager.validate(field.NewPath("metaManager"))...)
	errs = append(errs, c.NodeStatus.validate(field.NewPath("nodeStatus"))...)
	errs = append(errs, c.Edged.validate(field.NewPath("edged"))...)
	errs = append(errs, c.EventBus.validate(field.NewPath("eventBus"))...)
	errs = append(errs, c.EdgeStream.validate(field.NewPath("edgeStream"))...)
	return errs.ToAggregate()
}

// YAML renders c as a config file, for --defaultconfig.
func (c *EdgeCore) YAML() ([]byte, error) { return yaml.Marshal(c) }
