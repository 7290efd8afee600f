package nets

import (
	"fmt"
	"slices"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// AutoencoderConfig holds the hyperparameters of the latent generator's autoencoder.
type AutoencoderConfig struct {
	// Shape is the image shape [H, W, C]; H and W must be divisible by 2^len(Channels).
	Shape []int `json:"shape"`
	// Latent is the size of the latent code.
	Latent int `json:"latent"`
	// Channels are the channels after each stride-2 convolution of the encoder (the
	// decoder mirrors them).
	Channels []int `json:"channels"`
}

// DefaultAutoencoderConfig is the autoencoder for images of the given shape [H, W, C]:
// a 16-dimensional latent code and channels [32, 64] (28x28 -> 14x14 -> 7x7).
func DefaultAutoencoderConfig(shape ...int) AutoencoderConfig {
	return AutoencoderConfig{Shape: slices.Clone(shape), Latent: 16, Channels: []int{32, 64}}
}

// Autoencoder is a small convolutional autoencoder between images [B, H, W, C] in [-1, 1]
// and latent codes [B, Latent]. With L = len(Channels) levels and c_l = Channels[l]:
//
//   - encoder ("enc/..."): L convolutions 3x3 of stride 2, each followed by SiLU
//     (C -> c_0 -> ... -> c_{L-1}, H -> H/2^L), then a linear map of the flattened
//     features to the code;
//   - decoder ("dec/..."): a linear map of the code to H/2^L x W/2^L x c_{L-1} and SiLU;
//     L-1 nearest-2x-upsample + 3x3 convolutions with SiLU (c_{L-1} -> ... -> c_0, at
//     H/2 x W/2); a 3x3 convolution c_0 -> c_0 with SiLU; a 3x3 convolution to 4*C
//     channels rearranged into the full-resolution image (DepthToSpace, a "sub-pixel"
//     convolution); and a clip to [-1, 1] whose gradient passes straight through (see
//     clipStraightThrough for why not tanh).
//
// Nothing runs at full resolution but the final rearrangement: on the Go backend a
// 3x3 convolution at 28x28 with few output channels costs more than the rest of the
// decoder (its im2col matrix is 9*c_0 wide for C outputs). The upsampling convolutions
// use UpsampleConv2D (4/9 of the multiplications of a convolution of the upsampled image).
type Autoencoder struct {
	cfg AutoencoderConfig
}

// NewAutoencoder validates cfg and returns the autoencoder it describes.
func NewAutoencoder(cfg AutoencoderConfig) (*Autoencoder, error) {
	if len(cfg.Shape) != 3 || cfg.Shape[0] <= 0 || cfg.Shape[1] <= 0 || cfg.Shape[2] <= 0 {
		return nil, fmt.Errorf("nets: the autoencoder needs a positive image shape [H, W, C], got %v", cfg.Shape)
	}
	if cfg.Latent <= 0 {
		return nil, fmt.Errorf("nets: the autoencoder needs Latent > 0, got %d", cfg.Latent)
	}
	if len(cfg.Channels) == 0 {
		return nil, fmt.Errorf("nets: the autoencoder needs at least one level in Channels")
	}
	for _, c := range cfg.Channels {
		if c <= 0 {
			return nil, fmt.Errorf("nets: autoencoder channels %v must be positive", cfg.Channels)
		}
	}
	if f := 1 << len(cfg.Channels); cfg.Shape[0]%f != 0 || cfg.Shape[1]%f != 0 {
		return nil, fmt.Errorf("nets: an autoencoder with %d levels needs H and W divisible by %d, got %dx%d",
			len(cfg.Channels), f, cfg.Shape[0], cfg.Shape[1])
	}
	cfg.Shape = slices.Clone(cfg.Shape)
	cfg.Channels = slices.Clone(cfg.Channels)
	return &Autoencoder{cfg: cfg}, nil
}

// Config returns the hyperparameters.
func (a *Autoencoder) Config() AutoencoderConfig { return a.cfg }

// bottom returns the height, width and channels of the innermost feature map.
func (a *Autoencoder) bottom() (h, w, c int) {
	f := 1 << len(a.cfg.Channels)
	return a.cfg.Shape[0] / f, a.cfg.Shape[1] / f, a.cfg.Channels[len(a.cfg.Channels)-1]
}

// EncoderSpecs lists the encoder's parameters (names prefixed "enc/").
func (a *Autoencoder) EncoderSpecs() []ParamSpec {
	var s []ParamSpec
	in := a.cfg.Shape[2]
	for l, c := range a.cfg.Channels {
		s = append(s, Conv2DSpecs(fmt.Sprintf("enc/conv%d", l), 3, in, c)...)
		in = c
	}
	h, w, c := a.bottom()
	return append(s, DenseSpecs("enc/dense", h*w*c, a.cfg.Latent)...)
}

// DecoderSpecs lists the decoder's parameters (names prefixed "dec/").
func (a *Autoencoder) DecoderSpecs() []ParamSpec {
	h, w, c := a.bottom()
	s := DenseSpecs("dec/dense", a.cfg.Latent, h*w*c)
	ch := a.cfg.Channels
	for l := len(ch) - 1; l >= 1; l-- {
		s = append(s, Conv2DSpecs(fmt.Sprintf("dec/up%d", l), 3, ch[l], ch[l-1])...)
	}
	s = append(s, Conv2DSpecs("dec/conv", 3, ch[0], ch[0])...)
	return append(s, Conv2DSpecs("dec/out", 3, ch[0], 4*a.cfg.Shape[2])...)
}

// Encode maps images x [B, H, W, C] (values in [-1, 1]) to codes [B, Latent].
func (a *Autoencoder) Encode(w *Weights, x *Node) *Node {
	h := x
	for l := range a.cfg.Channels {
		h = SiLU(Conv2D(w, fmt.Sprintf("enc/conv%d", l), h, 3, 2))
	}
	b := x.Shape().Dimensions[0]
	return Dense(w, "enc/dense", Reshape(h, b, -1), activation.TypeNone)
}

// Decode maps codes z [B, Latent] to images [B, H, W, C] with values in [-1, 1]: the
// output is clipped, with a straight-through gradient (see clipStraightThrough).
func (a *Autoencoder) Decode(w *Weights, z *Node) *Node {
	b := z.Shape().Dimensions[0]
	h0, w0, c0 := a.bottom()
	h := Reshape(Dense(w, "dec/dense", z, activation.TypeSilu), b, h0, w0, c0)
	for l := len(a.cfg.Channels) - 1; l >= 1; l-- {
		h = SiLU(UpsampleConv2D(w, fmt.Sprintf("dec/up%d", l), h, 3))
	}
	h = SiLU(Conv2D(w, "dec/conv", h, 3, 1))
	return clipStraightThrough(DepthToSpace(Conv2D(w, "dec/out", h, 3, 1), 2))
}

// clipStraightThrough is clip(x, -1, 1) whose gradient is the identity (a straight-
// through estimator): a pixel pushed beyond the range keeps its gradient and can come
// back, where tanh (whose gradient vanishes, exactly in float32 once |x| > 9) and a plain
// clip let Adam's momentum drive the whole output into saturation for good within a few
// steps (docs/measurements.md, "Autoencoder output clipping").
func clipStraightThrough(x *Node) *Node {
	return Add(x, StopGradient(Sub(ClipScalar(x, -1, 1), x)))
}
