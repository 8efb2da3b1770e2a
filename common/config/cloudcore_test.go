package config

import "testing"

// DeviceController is on by default and a file can turn it off; a file
// that leaves it out keeps it on.
func TestCloudCoreDeviceControllerSwitch(t *testing.T) {
	if !DefaultCloudCore().DeviceController.Enable {
		t.Error("deviceController.enable defaults to false, want true")
	}
	tests := []struct {
		name, body string
		want       bool
	}{
		{"left out", "", true},
		{"disabled", "deviceController: {enable: false}\n", false},
		{"enabled", "deviceController: {enable: true}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadCloudCore(writeFile(t, "apiVersion: config.tether.io/v1alpha1\nkind: CloudCore\n"+tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.DeviceController.Enable != tt.want {
				t.Errorf("deviceController.enable = %v, want %v", c.DeviceController.Enable, tt.want)
			}
		})
	}
	if _, err := LoadCloudCore(writeFile(t, "apiVersion: config.tether.io/v1alpha1\nkind: CloudCore\ndeviceController: {enabled: false}\n")); err == nil {
		t.Error("a misspelt deviceController field loaded")
	}
}
