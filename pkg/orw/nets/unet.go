package nets

import "fmt"

// newUNet is replaced by the U-Net implementation.
func newUNet(cfg Config) (Velocity, error) {
	return nil, fmt.Errorf("nets: unet is not built yet")
}
