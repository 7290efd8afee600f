package nets

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// The paper's CIFAR-10 U-Net, kind "unet-paper".
//
// ORW-CFM-W2 (Fan et al., ICLR 2025) fine-tunes the CIFAR-10 flow of the conditional flow
// matching example it builds on: the ADM-style U-Net of Nichol & Dhariwal (2021) with 128
// base channels, channel multipliers 1-2-2-2 (levels at 32, 16, 8 and 4 pixels), 2 residual
// blocks per level, self-attention at 16x16 with heads of 64 channels, a 512-dimensional
// time embedding and dropout 0.1. It is the same network as the DDPM CIFAR-10 model (Ho et
// al., 2020), whose paper gives it 35.7 million parameters; this one has 35,746,307
// (unconditional, [32, 32, 3]), which TestUNetPaperParamCount derives layer by layer.
//
// With C = Channels, L = len(C), R = 2 residual blocks per level and E = EmbedDim:
//
//   - e = Linear(SiLU(Linear(Sinusoidal(t, TimeDim)))) of size E, plus a learned class
//     embedding of size E when NumClasses > 0; every residual block reads s = SiLU(e);
//   - ResBlock(cin, cout) is the one of the "unet" kind (GroupNorm, SiLU, conv3x3; plus
//     Linear(s) over space; GroupNorm, SiLU, conv3x3; plus the input, through a 1x1
//     convolution when cin != cout);
//   - Attention(c) normalises x with GroupNorm, projects every pixel to queries, keys and
//     values (one c -> 3c linear map), lets each pixel attend to all pixels of its image
//     in c/64 heads (softmax(q k^T / sqrt(64)) v), projects back (c -> c) and adds x;
//   - encoder: h = conv3x3(C_in -> C[0])(x); at level l, R blocks ResBlock(., C[l]), each
//     followed by Attention when the level is the attention level; between levels a
//     stride-2 conv3x3 keeping the channels. Every block's output (the first convolution,
//     the residual blocks and the downsamplings) is kept as a skip;
//   - middle: ResBlock, Attention, ResBlock at C[L-1] channels;
//   - decoder: at level l = L-1..0, R+1 blocks ResBlock(concat(h, skip) -> C[l]), taking
//     the skips in reverse order, each followed by Attention at the attention level; after
//     the last block of every level but the first, nearest 2x upsampling and a conv3x3;
//   - output: conv3x3(C[0] -> C_in)(SiLU(GroupNorm(h))).
//
// The attention level is the one whose downsampling factor is H/16 (integer division),
// as the reference turns "attention at resolution 16" into a factor: for 32x32 images
// the 16x16 level. GroupNorm has Groups groups (32 in the paper).
//
// Initialisation: the package's fan-in rule, with the layers the reference initialises to
// zero (the second convolution of every residual block, the attention output projection
// and the output convolution) initialised to zero, so that every block starts as the
// identity.
//
// Differences from the reference, none of which changes the parameters: there is no
// dropout (a Velocity is a deterministic function of its inputs; the reference drops 10%
// of the activations before each block's second convolution while training); the time
// embedding is the package's Sinusoidal (of 1000 t, as every network here) where the
// reference embeds t in [0, 1] unscaled; and queries, keys and values are split before
// the heads (an ordering of the same linear map's outputs).
type unetPaper struct {
	cfg Config
}

const (
	// paperResBlocks is the number of residual blocks per level of "unet-paper".
	paperResBlocks = 2
	// paperAttentionResolution is the image size at which "unet-paper" attends.
	paperAttentionResolution = 16
	// paperHeadChannels is the width of one attention head of "unet-paper".
	paperHeadChannels = 64
)

// UNetPaperConfig returns the "unet-paper" configuration for images of the given shape
// [H, W, C]: the paper's CIFAR-10 network for [32, 32, 3] (see the notes on unetPaper).
func UNetPaperConfig(shape ...int) Config {
	return DefaultConfig("unet-paper", shape...)
}

// Parameter names: "temb/0", "temb/1", "class", "in", "enc<l>.<i>" (residual blocks of
// the encoder, with "/attn" for their attention), "down<l>" (from level l to l+1),
// "mid/res0", "mid/attn", "mid/res1", "dec<l>.<i>" (+ "/attn"), "up<l>" (from level l to
// l-1), "out/norm", "out/conv". Attention sub-names: "norm", "qkv", "proj".

func newUNetPaper(cfg Config) (Velocity, error) {
	if err := checkUNetConfig("unet-paper", cfg, " (it is the paper's network for 32x32 CIFAR-10 images)"); err != nil {
		return nil, err
	}
	u := &unetPaper{cfg: cfg}
	for l, c := range cfg.Channels {
		if u.attends(l) && c%paperHeadChannels != 0 {
			return nil, fmt.Errorf("nets: unet-paper attends at level %d, whose %d channels are not a multiple of the %d channels of a head", l, c, paperHeadChannels)
		}
	}
	if last := cfg.Channels[len(cfg.Channels)-1]; last%paperHeadChannels != 0 {
		return nil, fmt.Errorf("nets: unet-paper attends in the middle block, whose %d channels are not a multiple of the %d channels of a head", last, paperHeadChannels)
	}
	return u, nil
}

// attends reports whether level l (downsampling factor 2^l) has attention.
func (u *unetPaper) attends(l int) bool {
	return 1<<l == u.cfg.Shape[0]/paperAttentionResolution
}

// Config returns the network's hyperparameters.
func (u *unetPaper) Config() Config { return u.cfg }

// Shape is [H, W, C].
func (u *unetPaper) Shape() []int { return u.cfg.Shape }

// paperBlock is one step of the network's plan, shared by Specs and Apply.
type paperBlock struct {
	kind      string // "res", "attn", "down", "up"
	name      string
	cin, cout int
	push, pop bool // push the output as a skip; pop a skip and concatenate it first
}

// plan lists the blocks of the encoder, middle and decoder in order (the time embedding,
// the first convolution and the output layers are handled around it).
func (u *unetPaper) plan() []paperBlock {
	ch := u.cfg.Channels
	var p []paperBlock
	skips := []int{ch[0]} // channels of the skips, the first convolution's output first
	c := ch[0]
	for l := range ch {
		for i := range paperResBlocks {
			name := fmt.Sprintf("enc%d.%d", l, i)
			p = append(p, paperBlock{kind: "res", name: name, cin: c, cout: ch[l]})
			c = ch[l]
			if u.attends(l) {
				p = append(p, paperBlock{kind: "attn", name: name + "/attn", cin: c, cout: c})
			}
			p[len(p)-1].push = true
			skips = append(skips, c)
		}
		if l < len(ch)-1 {
			p = append(p, paperBlock{kind: "down", name: fmt.Sprintf("down%d", l), cin: c, cout: c, push: true})
			skips = append(skips, c)
		}
	}
	p = append(p,
		paperBlock{kind: "res", name: "mid/res0", cin: c, cout: c},
		paperBlock{kind: "attn", name: "mid/attn", cin: c, cout: c},
		paperBlock{kind: "res", name: "mid/res1", cin: c, cout: c})
	for l := len(ch) - 1; l >= 0; l-- {
		for i := range paperResBlocks + 1 {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			name := fmt.Sprintf("dec%d.%d", l, i)
			p = append(p, paperBlock{kind: "res", name: name, cin: c + skip, cout: ch[l], pop: true})
			c = ch[l]
			if u.attends(l) {
				p = append(p, paperBlock{kind: "attn", name: name + "/attn", cin: c, cout: c})
			}
			if l > 0 && i == paperResBlocks {
				p = append(p, paperBlock{kind: "up", name: fmt.Sprintf("up%d", l), cin: c, cout: c})
			}
		}
	}
	return p
}

// Specs lists the parameters: time MLP, class embedding, first convolution, the blocks of
// plan, output.
func (u *unetPaper) Specs() []ParamSpec {
	cfg := u.cfg
	ch, e := cfg.Channels, cfg.EmbedDim
	var s []ParamSpec
	s = append(s, DenseSpecs("temb/0", cfg.TimeDim, e)...)
	s = append(s, DenseSpecs("temb/1", e, e)...)
	if cfg.NumClasses > 0 {
		s = append(s, ClassEmbeddingSpecs("class", cfg.NumClasses, e)...)
	}
	s = append(s, Conv2DSpecs("in", 3, cfg.Shape[2], ch[0])...)
	for _, b := range u.plan() {
		switch b.kind {
		case "res":
			s = append(s, zeroInit(resBlockSpecs(b.name, b.cin, b.cout, e), b.name+"/conv2/")...)
		case "attn":
			s = append(s, GroupNormSpecs(b.name+"/norm", b.cin)...)
			s = append(s, DenseSpecs(b.name+"/qkv", b.cin, 3*b.cin)...)
			s = append(s, zeroInit(DenseSpecs(b.name+"/proj", b.cin, b.cin), b.name+"/proj/")...)
		case "down", "up":
			s = append(s, Conv2DSpecs(b.name, 3, b.cin, b.cout)...)
		}
	}
	s = append(s, GroupNormSpecs("out/norm", ch[0])...)
	s = append(s, zeroInit(Conv2DSpecs("out/conv", 3, ch[0], cfg.Shape[2]), "out/conv/")...)
	return s
}

// zeroInit sets the initialisation of the specs whose names start with prefix to zeros.
func zeroInit(specs []ParamSpec, prefix string) []ParamSpec {
	for i := range specs {
		if strings.HasPrefix(specs[i].Name, prefix) {
			specs[i].Init, specs[i].Scale = InitZeros, 0
		}
	}
	return specs
}

// Apply returns v(t, x) for x [B, H, W, C], t [B] and, when class-conditional, labels [B].
func (u *unetPaper) Apply(w *Weights, t, x, labels *Node) *Node {
	cfg := u.cfg
	if d := x.Shape().Dimensions; len(d) != 4 || d[1] != cfg.Shape[0] || d[2] != cfg.Shape[1] || d[3] != cfg.Shape[2] {
		panic(fmt.Sprintf("nets: unet-paper for samples %v applied to x of shape %v", cfg.Shape, x.Shape().Dimensions))
	}
	if cfg.NumClasses > 0 && labels == nil {
		panic("nets: the unet-paper network is class-conditional (NumClasses > 0) but Apply got no labels")
	}
	e := Dense(w, "temb/0", Sinusoidal(t, cfg.TimeDim), activation.TypeSilu)
	e = Dense(w, "temb/1", e, activation.TypeNone)
	if cfg.NumClasses > 0 {
		e = Add(e, ClassEmbedding(w, "class", labels))
	}
	s := SiLU(e) // what every residual block's embedding layer reads
	h := Conv2D(w, "in", x, 3, 1)
	skips := []*Node{h}
	for _, b := range u.plan() {
		if b.pop {
			h = Concatenate([]*Node{h, skips[len(skips)-1]}, -1)
			skips = skips[:len(skips)-1]
		}
		switch b.kind {
		case "res":
			h = resBlock(w, b.name, h, s, cfg.Groups)
		case "attn":
			h = attention(w, b.name, h, cfg.Groups, b.cin/paperHeadChannels)
		case "down":
			h = Conv2D(w, b.name, h, 3, 2)
		case "up":
			h = UpsampleConv2D(w, b.name, h, 3)
		}
		if b.push {
			skips = append(skips, h)
		}
	}
	h = SiLU(GroupNorm(w, "out/norm", h, cfg.Groups))
	return Conv2D(w, "out/conv", h, 3, 1)
}

// attention is the self-attention block named prefix over the pixels of x [B, H, W, C]
// with the given number of heads: x + proj(softmax(q k^T / sqrt(d)) v), where q, k, v
// [B, heads, H*W, d] come from one linear map of GroupNorm(x) and d = C/heads.
func attention(w *Weights, prefix string, x *Node, groups, heads int) *Node {
	checkImage("attention", x)
	dims := x.Shape().Dimensions
	b, hw, c := dims[0], dims[1]*dims[2], dims[3]
	d := c / heads
	hn := Reshape(GroupNorm(w, prefix+"/norm", x, groups), b, hw, c)
	qkv := Reshape(Dense(w, prefix+"/qkv", hn, activation.TypeNone), b, hw, 3, heads, d)
	part := func(i int) *Node { // [B, heads, HW, d]
		return TransposeAllAxes(Reshape(Slice(qkv, AxisRange(), AxisRange(), AxisElem(i)), b, hw, heads, d), 0, 2, 1, 3)
	}
	q, k, v := part(0), part(1), part(2)
	scores := MulScalar(Einsum("bhtd,bhsd->bhts", q, k), 1/math.Sqrt(float64(d)))
	a := Einsum("bhts,bhsd->bhtd", Softmax(scores, -1), v)
	a = Reshape(TransposeAllAxes(a, 0, 2, 1, 3), b, hw, c)
	out := Dense(w, prefix+"/proj", a, activation.TypeNone)
	return Add(x, Reshape(out, dims...))
}
