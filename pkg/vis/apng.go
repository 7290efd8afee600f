package vis

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"time"
)

// EncodeAPNG writes frames to w as an animated PNG (APNG) that loops forever,
// showing each frame for delay (rounded to a millisecond, at most 65.535 s).
//
// An APNG is an ordinary PNG whose image is the first frame, followed by
// chunks that PNG decoders without animation support skip. So it displays
// wherever a PNG does: browsers animate it, Jupyter shows it as an
// image/png output, and image/png.Decode returns the first frame.
//
// Unlike SaveGIF, frames keep their full colour depth: if every frame is
// grayscale they are stored as 8-bit gray, otherwise as 8-bit RGB. Frames of
// different sizes are aligned at their top-left corner on a white canvas as
// large as the largest frame; transparent pixels are composited over white.
func EncodeAPNG(w io.Writer, frames []image.Image, delay time.Duration) error {
	if len(frames) == 0 {
		return errors.New("vis: EncodeAPNG: no frames")
	}
	var screen image.Rectangle
	gray := true
	for i, f := range frames {
		if f == nil {
			return fmt.Errorf("vis: EncodeAPNG: frame %d is nil", i)
		}
		screen = screen.Union(image.Rectangle{Max: f.Bounds().Size()})
		gray = gray && isGray(f)
	}
	if screen.Empty() {
		return errors.New("vis: EncodeAPNG: frames are empty")
	}
	ms := math.Round(float64(delay) / float64(time.Millisecond))
	ms = math.Min(math.Max(ms, 0), math.MaxUint16)

	var out bytes.Buffer
	out.WriteString(pngSignature)
	seq := uint32(0)
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	for i, f := range frames {
		var buf bytes.Buffer
		if err := enc.Encode(&buf, flatten(f, screen, gray)); err != nil {
			return fmt.Errorf("vis: EncodeAPNG: frame %d: %w", i, err)
		}
		chunks, err := readChunks(buf.Bytes())
		if err != nil {
			return fmt.Errorf("vis: EncodeAPNG: frame %d: %w", i, err)
		}
		var idat []byte
		for _, c := range chunks {
			switch c.typ {
			case "IHDR":
				if i == 0 {
					writeChunk(&out, "IHDR", c.data)
					var actl [8]byte
					binary.BigEndian.PutUint32(actl[0:], uint32(len(frames)))
					binary.BigEndian.PutUint32(actl[4:], 0) // loop forever
					writeChunk(&out, "acTL", actl[:])
				}
			case "IDAT":
				idat = append(idat, c.data...)
			}
		}
		var fctl [26]byte
		binary.BigEndian.PutUint32(fctl[0:], seq)
		binary.BigEndian.PutUint32(fctl[4:], uint32(screen.Dx()))
		binary.BigEndian.PutUint32(fctl[8:], uint32(screen.Dy()))
		// x and y offsets (8:16) are 0.
		binary.BigEndian.PutUint16(fctl[20:], uint16(ms))
		binary.BigEndian.PutUint16(fctl[22:], 1000)
		// dispose_op = none, blend_op = source: every frame replaces the canvas.
		writeChunk(&out, "fcTL", fctl[:])
		seq++
		if i == 0 {
			writeChunk(&out, "IDAT", idat)
			continue
		}
		fdat := make([]byte, 4+len(idat))
		binary.BigEndian.PutUint32(fdat, seq)
		copy(fdat[4:], idat)
		writeChunk(&out, "fdAT", fdat)
		seq++
	}
	writeChunk(&out, "IEND", nil)
	_, err := w.Write(out.Bytes())
	return err
}

// SaveAPNG writes frames to path as an animated PNG (see EncodeAPNG). The
// file is written atomically, as by SavePNG.
func SaveAPNG(path string, frames []image.Image, delay time.Duration) error {
	var buf bytes.Buffer
	if err := EncodeAPNG(&buf, frames, delay); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// flatten draws f at the top-left of an opaque white canvas of size screen,
// gray or RGB, so that every frame of an animation encodes with the same PNG
// colour type.
func flatten(f image.Image, screen image.Rectangle, gray bool) image.Image {
	var dst draw.Image
	if gray {
		dst = image.NewGray(screen)
	} else {
		dst = image.NewRGBA(screen)
	}
	draw.Draw(dst, screen, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, image.Rectangle{Max: f.Bounds().Size()}, f, f.Bounds().Min, draw.Over)
	return dst
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// pngChunk is one chunk of a PNG stream.
type pngChunk struct {
	typ  string
	data []byte
}

// readChunks splits a PNG stream into its chunks, checking the signature,
// lengths and checksums.
func readChunks(b []byte) ([]pngChunk, error) {
	if !bytes.HasPrefix(b, []byte(pngSignature)) {
		return nil, errors.New("not a PNG stream")
	}
	b = b[len(pngSignature):]
	var chunks []pngChunk
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, errors.New("truncated PNG chunk")
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n)+12 > uint64(len(b)) {
			return nil, errors.New("truncated PNG chunk")
		}
		typ, data := string(b[4:8]), b[8:8+n]
		if crc32.ChecksumIEEE(b[4:8+n]) != binary.BigEndian.Uint32(b[8+n:]) {
			return nil, fmt.Errorf("bad checksum in PNG chunk %q", typ)
		}
		chunks = append(chunks, pngChunk{typ, data})
		b = b[12+n:]
	}
	return chunks, nil
}

// writeChunk appends a PNG chunk (length, type, data, CRC) to w.
func writeChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}
