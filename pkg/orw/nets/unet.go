package nets

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// unet is the velocity network of the "unet" benchmark workload (docs/benchmarks.md,
// "Workload unet"), generalised to L = len(Channels) levels (the workload has
// Channels [32, 64, 64], so L = 3, on [28, 28, 1]):
//
//   - e = Linear(SiLU(Linear(Sinusoidal(t, TimeDim)))) of size EmbedDim, plus a learned
//     class embedding of size EmbedDim when NumClasses > 0;
//   - ResBlock(cin, cout): h = conv3x3(SiLU(GN(x))) to cout; h += Linear(e) broadcast over
//     space; h = conv3x3(SiLU(GN(h))); out = h + skip(x), skip a 1x1 convolution when
//     cin != cout and the identity otherwise; GN is GroupNorm with Groups groups;
//   - encoder: h_0 = ResBlock(Ch0, Ch0)(conv3x3(C -> Ch0)(x)); for l = 1..L-1,
//     h_l = ResBlock(Ch[l-1], Ch[l])(conv3x3 stride 2 (Ch[l-1] -> Ch[l-1])(h_{l-1}));
//   - decoder: u = h_{L-1}; for l = L-1..1, u = ResBlock(Ch[l]+Ch[l-1], Ch[l-1])(
//     concat(conv3x3(Ch[l] -> Ch[l])(upsample2x(u)), h_{l-1}));
//   - output: conv3x3(Ch0 -> C)(SiLU(GN(u))).
//
// All convolutions have biases and "same" padding. H and W must be divisible by 2^(L-1).
// With the workload's configuration the network has 484,577 parameters.
type unet struct {
	cfg Config
}

// Parameter names: "temb/0", "temb/1" (time MLP), "class" (class embedding), "in"
// (first convolution), "enc<l>" (encoder ResBlocks), "down<l>" (stride-2 convolutions),
// "up<l>" (convolutions after upsampling to level l), "dec<l>" (decoder ResBlocks) and
// "out/norm", "out/conv". ResBlock sub-names: "norm1", "conv1", "emb", "norm2", "conv2", "skip".

func newUNet(cfg Config) (Velocity, error) {
	if err := checkUNetConfig("unet", cfg, ""); err != nil {
		return nil, err
	}
	return &unet{cfg: cfg}, nil
}

// checkUNetConfig checks the fields a U-Net of the given kind ("unet",
// "unet-paper") reads: an image shape whose sides halve at every level below the
// first, positive channel counts divisible by Groups, and EmbedDim. sizeHint is
// added to the error about the image size.
func checkUNetConfig(kind string, cfg Config, sizeHint string) error {
	if len(cfg.Shape) != 3 {
		return fmt.Errorf("nets: %s needs an image shape [H, W, C], got %v", kind, cfg.Shape)
	}
	levels := len(cfg.Channels)
	if levels == 0 {
		return fmt.Errorf("nets: %s needs at least one level in Channels", kind)
	}
	h, w := cfg.Shape[0], cfg.Shape[1]
	if f := 1 << (levels - 1); h%f != 0 || w%f != 0 {
		return fmt.Errorf("nets: %s with %d levels needs H and W divisible by %d, got %dx%d%s", kind, levels, f, h, w, sizeHint)
	}
	if cfg.Groups <= 0 {
		return fmt.Errorf("nets: %s needs Groups > 0, got %d", kind, cfg.Groups)
	}
	for _, c := range cfg.Channels {
		if c <= 0 || c%cfg.Groups != 0 {
			return fmt.Errorf("nets: %s channels %v must be positive and divisible by Groups = %d", kind, cfg.Channels, cfg.Groups)
		}
	}
	if cfg.EmbedDim <= 0 {
		return fmt.Errorf("nets: %s needs EmbedDim > 0, got %d", kind, cfg.EmbedDim)
	}
	return nil
}

// Config returns the network's hyperparameters.
func (u *unet) Config() Config { return u.cfg }

// Shape is [H, W, C].
func (u *unet) Shape() []int { return u.cfg.Shape }

// Specs lists the parameters: time MLP, class embedding, encoder, decoder, output.
func (u *unet) Specs() []ParamSpec {
	cfg := u.cfg
	ch, e := cfg.Channels, cfg.EmbedDim
	var s []ParamSpec
	s = append(s, DenseSpecs("temb/0", cfg.TimeDim, e)...)
	s = append(s, DenseSpecs("temb/1", e, e)...)
	if cfg.NumClasses > 0 {
		s = append(s, ClassEmbeddingSpecs("class", cfg.NumClasses, e)...)
	}
	s = append(s, Conv2DSpecs("in", 3, cfg.Shape[2], ch[0])...)
	s = append(s, resBlockSpecs("enc0", ch[0], ch[0], e)...)
	for l := 1; l < len(ch); l++ {
		s = append(s, Conv2DSpecs(fmt.Sprintf("down%d", l), 3, ch[l-1], ch[l-1])...)
		s = append(s, resBlockSpecs(fmt.Sprintf("enc%d", l), ch[l-1], ch[l], e)...)
	}
	for l := len(ch) - 1; l >= 1; l-- {
		s = append(s, Conv2DSpecs(fmt.Sprintf("up%d", l-1), 3, ch[l], ch[l])...)
		s = append(s, resBlockSpecs(fmt.Sprintf("dec%d", l-1), ch[l]+ch[l-1], ch[l-1], e)...)
	}
	s = append(s, GroupNormSpecs("out/norm", ch[0])...)
	s = append(s, Conv2DSpecs("out/conv", 3, ch[0], cfg.Shape[2])...)
	return s
}

// Apply returns v(t, x) for x [B, H, W, C], t [B] and, when class-conditional, labels [B].
func (u *unet) Apply(w *Weights, t, x, labels *Node) *Node {
	cfg := u.cfg
	ch, groups := cfg.Channels, cfg.Groups
	if d := x.Shape().Dimensions; len(d) != 4 || d[1] != cfg.Shape[0] || d[2] != cfg.Shape[1] || d[3] != cfg.Shape[2] {
		panic(fmt.Sprintf("nets: unet for samples %v applied to x of shape %v", cfg.Shape, x.Shape().Dimensions))
	}
	if cfg.NumClasses > 0 && labels == nil {
		panic("nets: the unet is class-conditional (NumClasses > 0) but Apply got no labels")
	}
	e := Dense(w, "temb/0", Sinusoidal(t, cfg.TimeDim), activation.TypeSilu)
	e = Dense(w, "temb/1", e, activation.TypeNone)
	if cfg.NumClasses > 0 {
		e = Add(e, ClassEmbedding(w, "class", labels))
	}
	h := Conv2D(w, "in", x, 3, 1)
	h = resBlock(w, "enc0", h, e, groups)
	skips := []*Node{h}
	for l := 1; l < len(ch); l++ {
		h = Conv2D(w, fmt.Sprintf("down%d", l), h, 3, 2)
		h = resBlock(w, fmt.Sprintf("enc%d", l), h, e, groups)
		skips = append(skips, h)
	}
	for l := len(ch) - 1; l >= 1; l-- {
		h = UpsampleConv2D(w, fmt.Sprintf("up%d", l-1), h, 3)
		h = Concatenate([]*Node{h, skips[l-1]}, -1)
		h = resBlock(w, fmt.Sprintf("dec%d", l-1), h, e, groups)
	}
	h = SiLU(GroupNorm(w, "out/norm", h, groups))
	return Conv2D(w, "out/conv", h, 3, 1)
}

// resBlockSpecs declares the parameters of a ResBlock(cin, cout) named prefix whose
// time embedding has embedDim values.
func resBlockSpecs(prefix string, cin, cout, embedDim int) []ParamSpec {
	var s []ParamSpec
	s = append(s, GroupNormSpecs(prefix+"/norm1", cin)...)
	s = append(s, Conv2DSpecs(prefix+"/conv1", 3, cin, cout)...)
	s = append(s, DenseSpecs(prefix+"/emb", embedDim, cout)...)
	s = append(s, GroupNormSpecs(prefix+"/norm2", cout)...)
	s = append(s, Conv2DSpecs(prefix+"/conv2", 3, cout, cout)...)
	if cin != cout {
		s = append(s, Conv2DSpecs(prefix+"/skip", 1, cin, cout)...)
	}
	return s
}

// resBlock applies the ResBlock named prefix to x [B, H, W, cin] with embedding e [B, E].
func resBlock(w *Weights, prefix string, x, e *Node, groups int) *Node {
	h := Conv2D(w, prefix+"/conv1", SiLU(GroupNorm(w, prefix+"/norm1", x, groups)), 3, 1)
	emb := Dense(w, prefix+"/emb", e, activation.TypeNone) // [B, cout]
	// GroupNorm(h + emb) without materialising h + emb, its only use.
	h = Conv2D(w, prefix+"/conv2", SiLU(groupNorm(w, prefix+"/norm2", h, emb, groups)), 3, 1)
	skip := x
	if x.Shape().Dimensions[3] != w.Get(prefix + "/conv1/b").Shape().Dimensions[0] {
		skip = Conv2D(w, prefix+"/skip", x, 1, 1)
	}
	return Add(h, skip)
}
