// Package undocumented lacks doc comments where configref requires them.
package undocumented

// Root is the root type.
type Root struct {
	// A and B share one comment, which documents A only.
	A     int   `json:"a"`
	B     int   `json:"b"`
	One   Inner `json:"one"`
	Two   Inner `json:"two"`
	Other Bare  `json:"other"`
}

// Inner is used twice; its missing doc is reported once.
type Inner struct {
	Missing string `json:"missing"`
}

type Bare struct {
	// X is documented.
	X string `json:"x"`
}
