package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// Defaults for Options fields left zero.
const (
	DefaultHeadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// CloseGrace bounds the wait for a close handshake to complete, or for
	// a side to end its stream, before both connections are dropped.
	CloseGrace = 2 * time.Second
)

// Options configure a Server.
type Options struct {
	// Upstream is the server's ws:// or wss:// URL.
	Upstream *url.URL
	// Dial holds the upstream side's handshake flags of SPEC §1.1 (TLS,
	// --cacert, -k, client certificates, --sni, --proxy, --connect-to,
	// --unix, --timeout) and the injected dialer, clock and environment.
	// Its URL, request-shaping fields and expectations are not used.
	Dial handshake.Options
	// Headers (-H) and Omit (--omit) change the forwarded head, on top of
	// the client's lines.
	Headers, Omit []string
	// KeepHost forwards the client's Host instead of the upstream's.
	KeepHost bool
	// Strict fails a side that breaks RFC 6455 instead of relaying its
	// frame, and closes the other with 1001.
	Strict bool

	Quiet       bool // log nothing per connection
	Verbose     bool // a line per frame
	JSON        bool // NDJSON events instead of text
	ShowSecrets bool // print Authorization, Cookie, ... values

	// MaxMessageSize bounds a message kept for display (after
	// decompression); larger ones are relayed but shown by size only. A
	// frame that declares more is a warning, and with Strict fails its
	// side with 1009. 0 means wire.DefaultMaxMessageSize.
	MaxMessageSize int64
	// HeadTimeout bounds the client's request head; WriteTimeout every
	// write to either side. 0 means the defaults above.
	HeadTimeout, WriteTimeout time.Duration

	// Log returns the log stream of connection id; each Write carries whole
	// lines. nil logs nothing.
	Log func(id int64) io.WriteCloser
	// Paint colors handshake lines and diagnostics; Events colors session
	// events. nil: plain.
	Paint  handshake.Painter
	Events func(repl.Kind, string) string

	// Now is the clock (nil: time.Now); Rand supplies mask keys of the
	// close frames the proxy itself sends upstream (nil: crypto/rand).
	Now  func() time.Time
	Rand io.Reader

	// HAR, when set, records every WebSocket connection and its messages
	// (--har, SPEC §11): "send" is what the client sent.
	HAR *har.Writer
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Server relays clients to Options.Upstream. Create it with New; Serve
// runs it.
type Server struct {
	opts Options
	seq  atomic.Int64

	mu    sync.Mutex
	pairs map[*pair]struct{}
	wg    sync.WaitGroup
}

// New returns a Server; opts.Upstream must be set.
func New(opts Options) *Server {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = wire.DefaultMaxMessageSize
	}
	if opts.HeadTimeout <= 0 {
		opts.HeadTimeout = DefaultHeadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Server{opts: opts, pairs: make(map[*pair]struct{})}
}

// Serve accepts clients on ln until ctx is cancelled, then closes every
// pair with 1001 (RFC 6455 §7.4.1, going away), waits for them and returns
// nil. It returns an error when accepting fails for another reason.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		ln.Close()
	}()
	defer close(stopped)
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.shutdown()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.shutdown()
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		delay = 0
		p := s.newPair(c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(p)
			p.run(ctx)
		}()
	}
}

func (s *Server) newPair(c net.Conn) *pair {
	p := &pair{s: s, client: c, id: s.seq.Add(1), start: s.opts.now()}
	if s.opts.Log != nil && !s.opts.Quiet {
		p.log = s.opts.Log(p.id)
	}
	s.mu.Lock()
	s.pairs[p] = struct{}{}
	s.mu.Unlock()
	return p
}

func (s *Server) forget(p *pair) {
	s.mu.Lock()
	delete(s.pairs, p)
	s.mu.Unlock()
}

// Pairs returns how many connections are open.
func (s *Server) Pairs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pairs)
}

// shutdown closes every pair with 1001 and waits for them; each is dropped
// after CloseGrace at the latest.
func (s *Server) shutdown() {
	s.mu.Lock()
	for p := range s.pairs {
		go p.goAway()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
