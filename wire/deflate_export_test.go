package wire

// Hooks for the external tests of deflate.go: both DEFLATE implementations
// are tested and benchmarked, whichever is the default.

// DeflateCodec names one DEFLATE implementation.
type DeflateCodec = *flateCodec

var (
	StdFlate       DeflateCodec = stdCodec
	KlauspostFlate DeflateCodec = klauspostCodec
	CompressFlate  DeflateCodec = compressCodec
	WindowFlate    DeflateCodec = windowCodec
	InflateFlate   DeflateCodec = inflateCodec
	InflateTail                 = inflateTail
)

func (f *flateCodec) Name() string { return f.name }

func NewCompressorCodec(p DeflateParams, role Role, codec DeflateCodec) *Compressor {
	return newCompressor(p, role, codec)
}

func NewDecompressorCodec(p DeflateParams, role Role, codec DeflateCodec) *Decompressor {
	return newDecompressor(p, role, codec)
}
