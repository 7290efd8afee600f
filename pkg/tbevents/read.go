package tbevents

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// ReadRecords reads the records of an event file and checks their framing
// and both CRCs of each. A file that ends inside a record (a writer killed
// while writing it) is an error naming the record.
func ReadRecords(r io.Reader) ([][]byte, error) {
	br := bufio.NewReader(r)
	var recs [][]byte
	for i := 0; ; i++ {
		var head [12]byte
		n, err := io.ReadFull(br, head[:])
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("tbevents: record %d: header cut after %d bytes", i, n)
		}
		if got, want := binary.LittleEndian.Uint32(head[8:]), MaskedCRC(head[:8]); got != want {
			return recs, fmt.Errorf("tbevents: record %d: length CRC %#08x, want %#08x", i, got, want)
		}
		size := binary.LittleEndian.Uint64(head[:8])
		if size > 1<<30 {
			return recs, fmt.Errorf("tbevents: record %d: implausible length %d", i, size)
		}
		data := make([]byte, size+4)
		if n, err := io.ReadFull(br, data); err != nil {
			return recs, fmt.Errorf("tbevents: record %d: cut after %d of %d bytes", i, n, size+4)
		}
		if got, want := binary.LittleEndian.Uint32(data[size:]), MaskedCRC(data[:size]); got != want {
			return recs, fmt.Errorf("tbevents: record %d: data CRC %#08x, want %#08x", i, got, want)
		}
		recs = append(recs, data[:size])
	}
}

// Event is a decoded Event message (the fields this package writes).
type Event struct {
	WallTime    float64
	Step        int64
	FileVersion string
	// Values are the summary's values (none for other events).
	Values []Value
	// SessionStart tells a SessionLog START event.
	SessionStart bool
}

// Value is one value of a summary: a scalar (HasSimple) or an image.
type Value struct {
	Tag       string
	Simple    float32
	HasSimple bool
	Image     *Image
}

// Image is an encoded image of a summary.
type Image struct {
	Height, Width, Colorspace int
	// Encoded is the image file (PNG).
	Encoded []byte
}

// ReadFile reads and decodes every event of an event file.
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	evs, err := ReadEvents(f)
	if err != nil {
		return evs, fmt.Errorf("%s: %w", path, err)
	}
	return evs, nil
}

// ReadEvents reads and decodes every event of an event file.
func ReadEvents(r io.Reader) ([]Event, error) {
	recs, err := ReadRecords(r)
	var evs []Event
	for i, rec := range recs {
		ev, derr := DecodeEvent(rec)
		if derr != nil {
			return evs, fmt.Errorf("tbevents: record %d: %w", i, derr)
		}
		evs = append(evs, ev)
	}
	return evs, err
}

// fields calls fn for each field of a message; fn consumes the value and
// returns its length, or a negative protowire error code.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, b []byte) (int, error)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		m, err := fn(num, typ, b)
		if err != nil {
			return err
		}
		if m == 0 { // a field fn does not read
			m = protowire.ConsumeFieldValue(num, typ, b)
		}
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil
}

var errType = errors.New("a field of an unexpected wire type")

// DecodeEvent decodes an Event message; unknown fields are skipped.
func DecodeEvent(b []byte) (Event, error) {
	var ev Event
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			ev.WallTime = math.Float64frombits(v)
			return n, nil
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			ev.Step = int64(v)
			return n, nil
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeString(b)
			ev.FileVersion = v
			return n, nil
		case num == 5 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			vals, err := decodeSummary(v)
			ev.Values = vals
			return n, err
		case num == 7 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			err := fields(v, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
				if num == 1 && typ == protowire.VarintType {
					s, n := protowire.ConsumeVarint(b)
					ev.SessionStart = s == 1
					return n, nil
				}
				return 0, nil
			})
			return n, err
		case num == 1 || num == 2 || num == 3 || num == 5 || num == 7:
			return 0, fmt.Errorf("field %d of Event: %w", num, errType)
		}
		return 0, nil
	})
	return ev, err
}

func decodeSummary(b []byte) ([]Value, error) {
	var vals []Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return 0, nil
		}
		if typ != protowire.BytesType {
			return 0, fmt.Errorf("field 1 of Summary: %w", errType)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return n, nil
		}
		val, err := decodeValue(v)
		vals = append(vals, val)
		return n, err
	})
	return vals, err
}

func decodeValue(b []byte) (Value, error) {
	var val Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeString(b)
			val.Tag = v
			return n, nil
		case num == 2 && typ == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			val.Simple, val.HasSimple = math.Float32frombits(v), true
			return n, nil
		case num == 4 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			im := &Image{}
			err := fields(v, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
				switch {
				case num >= 1 && num <= 3 && typ == protowire.VarintType:
					x, n := protowire.ConsumeVarint(b)
					switch num {
					case 1:
						im.Height = int(x)
					case 2:
						im.Width = int(x)
					case 3:
						im.Colorspace = int(x)
					}
					return n, nil
				case num == 4 && typ == protowire.BytesType:
					x, n := protowire.ConsumeBytes(b)
					im.Encoded = x
					return n, nil
				}
				return 0, nil
			})
			val.Image = im
			return n, err
		case num == 1 || num == 2 || num == 4:
			return 0, fmt.Errorf("field %d of Value: %w", num, errType)
		}
		return 0, nil
	})
	return val, err
}
