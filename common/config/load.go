package config

import (
	"errors"
	"fmt"
	"os"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// APIVersion is the apiVersion of both config kinds.
const APIVersion = "config.tether.io/v1alpha1"

// TypeMeta is the apiVersion and kind every config file starts with.
type TypeMeta struct {
	// APIVersion is config.tether.io/v1alpha1; required in the file.
	APIVersion string `json:"apiVersion"`
	// Kind is the binary's own kind, CloudCore or EdgeCore; required in the file.
	Kind string `json:"kind"`
}

// document is what Load needs of a config kind.
type document interface {
	Validate() error
}

// decodeStrict decodes YAML data over v, which holds the defaults. Unknown and
// duplicate fields are errors naming their path; so is a value of the wrong type.
func decodeStrict(data []byte, v document, wantKind string) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	// The file itself must say what it is; the defaults do not count.
	var tm TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if tm.APIVersion != APIVersion {
		return fmt.Errorf("apiVersion: got %q, want %q", tm.APIVersion, APIVersion)
	}
	if tm.Kind != wantKind {
		return fmt.Errorf("kind: got %q, want %q", tm.Kind, wantKind)
	}
	strictErrs, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	return v.Validate()
}

// loadFile reads path and decodes it over v; errors name the file.
func loadFile(path string, v document, kind string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := decodeStrict(data, v, kind); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}
