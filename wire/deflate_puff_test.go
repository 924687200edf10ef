package wire_test

import (
	"errors"
	"fmt"
)

// puff is a small, slow DEFLATE decoder (RFC 1951 §3.2) written for the
// tests after zlib's puff.c. Unlike compress/flate it reports the largest
// back-reference distance of a stream, so the tests can check that a
// compressor keeps to a negotiated window (RFC 7692 §7.1.2).
//
// It decodes data after the history hist and returns the new output and
// the largest distance used. It stops after a final block or, at a block
// boundary, when the data is used up.
func puff(hist, data []byte) (out []byte, maxDist int, err error) {
	p := &puffState{in: data, out: append([]byte(nil), hist...)}
	start := len(hist)
	for {
		if p.pos >= len(p.in) && p.nbits == 0 {
			return p.out[start:], p.maxDist, nil
		}
		final, err := p.bits(1)
		if err != nil {
			return nil, 0, err
		}
		typ, err := p.bits(2)
		if err != nil {
			return nil, 0, err
		}
		switch typ {
		case 0:
			err = p.stored()
		case 1:
			err = p.codes(&fixedLit, &fixedDist)
		case 2:
			err = p.dynamic()
		default:
			err = errors.New("puff: reserved block type 3")
		}
		if err != nil {
			return nil, 0, err
		}
		if final == 1 {
			return p.out[start:], p.maxDist, nil
		}
	}
}

type puffState struct {
	in      []byte
	pos     int
	bitbuf  int
	nbits   int
	out     []byte
	maxDist int
}

var errPuffEOF = errors.New("puff: unexpected end of data")

func (p *puffState) bits(n int) (int, error) {
	v := p.bitbuf
	for p.nbits < n {
		if p.pos >= len(p.in) {
			return 0, errPuffEOF
		}
		v |= int(p.in[p.pos]) << p.nbits
		p.pos++
		p.nbits += 8
	}
	p.bitbuf = v >> n
	p.nbits -= n
	return v & (1<<n - 1), nil
}

func (p *puffState) stored() error {
	p.bitbuf, p.nbits = 0, 0 // to a byte boundary
	if p.pos+4 > len(p.in) {
		return errPuffEOF
	}
	n := int(p.in[p.pos]) | int(p.in[p.pos+1])<<8
	if n != ^(int(p.in[p.pos+2])|int(p.in[p.pos+3])<<8)&0xffff {
		return errors.New("puff: stored block length does not match its complement")
	}
	p.pos += 4
	if p.pos+n > len(p.in) {
		return errPuffEOF
	}
	p.out = append(p.out, p.in[p.pos:p.pos+n]...)
	p.pos += n
	return nil
}

type puffHuffman struct {
	count  [16]int
	symbol []int
}

func newPuffHuffman(lengths []int) puffHuffman {
	h := puffHuffman{symbol: make([]int, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = sym
			offs[l]++
		}
	}
	return h
}

func (p *puffState) decode(h *puffHuffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := p.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+code-first], nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errors.New("puff: invalid Huffman code")
}

var (
	lenBase  = []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = []int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = []int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLit, fixedDist = func() (puffHuffman, puffHuffman) {
		l := make([]int, 288)
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		d := make([]int, 30)
		for i := range d {
			d[i] = 5
		}
		return newPuffHuffman(l), newPuffHuffman(d)
	}()
)

func (p *puffState) codes(lit, dist *puffHuffman) error {
	for {
		sym, err := p.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			p.out = append(p.out, byte(sym))
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("puff: invalid length symbol %d", sym)
		}
		sym -= 257
		extra, err := p.bits(lenExtra[sym])
		if err != nil {
			return err
		}
		n := lenBase[sym] + extra
		dsym, err := p.decode(dist)
		if err != nil {
			return err
		}
		if dsym > 29 {
			return fmt.Errorf("puff: invalid distance symbol %d", dsym)
		}
		extra, err = p.bits(dstExtra[dsym])
		if err != nil {
			return err
		}
		d := dstBase[dsym] + extra
		if d > len(p.out) {
			return fmt.Errorf("puff: distance %d is farther back than the %d bytes of history", d, len(p.out))
		}
		p.maxDist = max(p.maxDist, d)
		for range n {
			p.out = append(p.out, p.out[len(p.out)-d])
		}
	}
}

func (p *puffState) dynamic() error {
	nlen, err := p.bits(5)
	if err != nil {
		return err
	}
	ndist, err := p.bits(5)
	if err != nil {
		return err
	}
	ncode, err := p.bits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	order := []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	lengths := make([]int, 19)
	for i := range ncode {
		if lengths[order[i]], err = p.bits(3); err != nil {
			return err
		}
	}
	lencode := newPuffHuffman(lengths)
	lengths = make([]int, 0, nlen+ndist)
	for len(lengths) < nlen+ndist {
		sym, err := p.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths = append(lengths, sym)
			continue
		}
		rep, val := 0, 0
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return errors.New("puff: repeat with no previous length")
			}
			val = lengths[len(lengths)-1]
			rep, err = p.bits(2)
			rep += 3
		case 17:
			rep, err = p.bits(3)
			rep += 3
		default:
			rep, err = p.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		for range rep {
			lengths = append(lengths, val)
		}
	}
	if len(lengths) > nlen+ndist {
		return errors.New("puff: too many code lengths")
	}
	lit, dist := newPuffHuffman(lengths[:nlen]), newPuffHuffman(lengths[nlen:])
	return p.codes(&lit, &dist)
}
