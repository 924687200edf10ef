package cmd_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// peer is one independent WebSocket implementation with an echo server
// and a client script in testdata/peers.
type peer struct {
	name          string
	interp        func(testing.TB) string
	server        string
	serverDeflate []string // arguments that make the server accept permessage-deflate
	client        string
	clientDeflate []string // arguments that make the client offer permessage-deflate
}

var peers = []peer{
	{name: "python-websockets", interp: pythonPeer, server: "py_echo_server.py", client: "py_client.py"},
	{name: "node-ws", interp: nodePeer, server: "node_echo_server.js", serverDeflate: []string{"--deflate"},
		client: "node_client.js", clientDeflate: []string{"--deflate"}},
}

// TestPeersLineModeAtEOF is the README's `seq 1 3 | wsdbg connect -q URL`
// 50 times against each peer: every reply printed, every time. python
// websockets drops the replies it has not sent once the client's close
// arrives, so this fails if line mode closes at the end of stdin instead
// of listening for --wait first (SPEC §1.4).
func TestPeersLineModeAtEOF(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	for _, pe := range peers {
		t.Run(pe.name, func(t *testing.T) {
			t.Parallel()
			url := startPeerServer(t, pe.interp(t), pe.server)
			const runs, parallel = 50, 2
			var mu sync.Mutex
			var failures []string
			sem := make(chan struct{}, parallel)
			var wg sync.WaitGroup
			for i := range runs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					r, err := tryProc(30*time.Second, "1\n2\n3\n", bin, "connect", "-q", url)
					msg := ""
					switch {
					case err != nil:
						msg = err.Error()
					case r.code != 0 || r.out != "1\n2\n3\n" || r.err != "":
						msg = fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
					}
					if msg != "" {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("run %d: %s", i+1, msg))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(failures) > 0 {
				t.Errorf("%d of %d runs lost replies or failed, want 0 (stdout must be \"1\\n2\\n3\\n\", exit 0):\n%s",
					len(failures), runs, strings.Join(failures, "\n"))
			}
		})
	}
}

// TestPeersMessageFlag sends -m messages right after the handshake, then
// stdin's lines, and prints every echo in order.
func TestPeersMessageFlag(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	for _, pe := range peers {
		t.Run(pe.name, func(t *testing.T) {
			t.Parallel()
			url := startPeerServer(t, pe.interp(t), pe.server)
			r := runProc(t, 30*time.Second, "three\n", bin, "connect", "-q", "-m", "one", "--message", "two", url)
			if r.code != 0 || r.out != "one\ntwo\nthree\n" || r.err != "" {
				t.Errorf("connect -m one --message two, stdin three: exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.out, r.err, "one\ntwo\nthree\n")
			}
			r = runProc(t, 30*time.Second, "", bin, "connect", "-q", "-m", "only", url)
			if r.code != 0 || r.out != "only\n" || r.err != "" {
				t.Errorf("connect -m only, empty stdin: exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.out, r.err, "only\n")
			}
		})
	}
}

// TestPeersSendCount: send --count 2 ends as soon as both echoes are in.
func TestPeersSendCount(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	for _, pe := range peers {
		t.Run(pe.name, func(t *testing.T) {
			t.Parallel()
			url := startPeerServer(t, pe.interp(t), pe.server)
			r := runProc(t, 30*time.Second, "", bin, "send", "-q", "--count", "2", url, "a", "b")
			if r.code != 0 || r.out != "a\nb\n" || r.err != "" {
				t.Errorf("send --count 2 a b: exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.out, r.err, "a\nb\n")
			}
			r = runProc(t, 30*time.Second, "", bin, "send", "-q", "--count", "2", "--expect", "a", "--expect", "x", url, "a", "b")
			want := "reply 2 is \"b\", expected \"x\" (--expect)"
			if r.code != 7 || r.out != "a\nb\n" || !strings.Contains(r.err, want) {
				t.Errorf("send --expect a --expect x a b: exit %d, stdout %q, stderr %q; want 7, %q and %q", r.code, r.out, r.err, "a\nb\n", want)
			}
		})
	}
}

// frameRE matches a -v frame line of a data frame and says whether its
// RSV1 bit (compressed, RFC 7692 §6) was set.
var frameRE = regexp.MustCompile(`(?m)^(?:#\d+ )?([<>]) frame FIN=1 RSV=(\d)00 op=text\(0x1\) .*$`)

// compressedFrames counts the text frames of a -v log by direction and
// RSV1.
func compressedFrames(log string) map[string]int {
	n := map[string]int{}
	for _, m := range frameRE.FindAllStringSubmatch(log, -1) {
		n[m[1]+m[2]]++
	}
	return n
}

// TestPeersCompression runs send --deflate against each peer's server
// with compression on: wsdbg's message goes out compressed, the echo comes
// back compressed, and the text survives both ways.
func TestPeersCompression(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	long := strings.Repeat("compress me, ", 200)
	for _, pe := range peers {
		t.Run(pe.name, func(t *testing.T) {
			t.Parallel()
			url := startPeerServer(t, pe.interp(t), pe.server, pe.serverDeflate...)
			r := runProc(t, 30*time.Second, "", bin, "send", "-v", "--deflate", "--count", "1", url, long)
			if r.code != 0 || r.out != long+"\n" {
				t.Fatalf("send --deflate: exit %d, stdout %q; want 0 and the message back; stderr:\n%s", r.code, r.out, r.err)
			}
			if !strings.Contains(r.err, `extension-ok    server accepted "permessage-deflate"`) {
				t.Errorf("no extension-ok for permessage-deflate; stderr:\n%s", r.err)
			}
			if n := compressedFrames(r.err); n[">1"] != 1 || n["<1"] != 1 || n[">0"]+n["<0"] != 0 {
				t.Errorf("text frames by direction and RSV1: %v, want one compressed each way (>1 and <1); stderr:\n%s", n, r.err)
			}
		})
	}
}

// TestPeersDriveServe runs wsdbg serve --deflate and lets each peer's
// client talk to it, with and without permessage-deflate: the client gets
// its messages back, the close is 1000 both ways, and serve's -v log shows
// the long message compressed in both directions when negotiated. (python
// websockets always offers permessage-deflate: serve without --deflate
// declines it.)
func TestPeersDriveServe(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	long := strings.Repeat("compress me, ", 200)
	for _, pe := range peers {
		for _, deflate := range []bool{true, false} {
			name := pe.name + "-plain"
			if deflate {
				name = pe.name + "-deflate"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				interp := pe.interp(t)
				serveArgs := []string{"serve", "--listen", "127.0.0.1:0", "-v", "--color", "never"}
				if deflate {
					serveArgs = append(serveArgs, "--deflate")
				}
				url, log := startServeProc(t, bin, serveArgs...)
				args := []string{filepath.Join(peersDir(t), pe.client)}
				if deflate {
					args = append(args, pe.clientDeflate...)
				}
				args = append(args, url, "hello", long)
				r := runProc(t, 30*time.Second, "", interp, args...)
				ext := "none"
				if deflate {
					ext = "permessage-deflate"
				}
				want := "extensions " + ext + "\nhello\n" + long + "\nclose 1000\n"
				if r.code != 0 || r.out != want {
					t.Fatalf("%s against serve: exit %d, stdout %q, want %q; stderr %s\nserve log:\n%s", pe.client, r.code, r.out, want, r.err, log.String())
				}
				log.waitFor(t, `#1 \* Closed after`, 10*time.Second)
				text := log.String()
				n := compressedFrames(text)
				switch {
				case deflate && (n["<1"] < 1 || n[">1"] < 1):
					// "hello" may go either way (python compresses it,
					// serve sends it plain); the long message must be
					// compressed both ways.
					t.Errorf("serve --deflate: text frames by direction and RSV1 %v, want the long message compressed each way (<1 and >1); log:\n%s", n, text)
				case !deflate && (n["<1"] != 0 || n[">1"] != 0):
					t.Errorf("serve without --deflate: compressed frames %v; log:\n%s", n, text)
				}
				if !strings.Contains(text, "#1 < close 1000 (normal closure)") || !strings.Contains(text, "#1 > close 1000 (normal closure)") {
					t.Errorf("serve log lacks the close 1000 both ways:\n%s", text)
				}
			})
		}
	}
}

// startServeProc runs the wsdbg binary's serve with args and returns its
// ws:// URL and its log (stdout and stderr); it ends with the test.
func startServeProc(t *testing.T, bin string, args ...string) (string, *logBuffer) {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Env = []string{"HOME=" + t.TempDir(), "NO_COLOR=1"}
	log := newLogBuffer()
	pr, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
		}
	}()
	t.Cleanup(func() {
		_ = c.Process.Kill()
		<-copied
		_ = c.Wait()
	})
	m := log.waitFor(t, `Listening on ws://127\.0\.0\.1:\d+/`, 20*time.Second)
	return strings.TrimPrefix(m, "Listening on "), log
}
