package parquetsink

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is parquet-go's compress.Codec for ZSTD with the encoder
// window bounded to the page size: a page is compressed on its own, so a
// larger window (the library default of 8 MiB, 16 MiB of history per
// encoder) costs memory and buys nothing. One codec is shared by all the
// writers of a Sink.
type zstdCodec struct {
	window int
	enc    sync.Pool
	dec    sync.Pool
}

func newZstdCodec(pageSize int) *zstdCodec {
	w := zstd.MinWindowSize
	for w < pageSize && w < zstd.MaxWindowSize {
		w <<= 1
	}
	return &zstdCodec{window: w}
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.enc.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(c.window),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	c.enc.Put(e)
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.dec.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
	}
	out, err := d.DecodeAll(src, dst[:0])
	c.dec.Put(d)
	return out, err
}
