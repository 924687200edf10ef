package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

// The independent WebSocket implementations these tests run wsdbg against
// live in testdata/peers at the top of the repository: small scripts over
// python websockets (Debian's python3-websockets) and Node's ws (npm, in
// testdata/peers/node_modules). .ci/run installs both. The tests find them
// through these variables, with defaults that match .ci/run:
//
//	WSDBG_PEERS   the peers folder (default ../testdata/peers)
//	WSDBG_PYTHON  a python 3 that can import websockets (default /usr/bin/python3)
//	WSDBG_NODE    node (default: node on PATH)
//
// A peer that cannot be started fails the test with the reason; it never
// skips, so a CI run without the peers is red.

func peersDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WSDBG_PEERS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "peers")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// pythonPeer returns the python that runs the python peers, after checking
// that it can import websockets.
func pythonPeer(t testing.TB) string {
	t.Helper()
	py := os.Getenv("WSDBG_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	checkPeer(t, "python websockets", "install it with: apt-get install python3-websockets (as .ci/run does), or point WSDBG_PYTHON at a python 3 that has it",
		py, "-c", "import websockets")
	return py
}

// nodePeer returns the node that runs the node peers, after checking that
// it finds ws in the peers folder.
func nodePeer(t testing.TB) string {
	t.Helper()
	node := os.Getenv("WSDBG_NODE")
	if node == "" {
		node = "node"
	}
	checkPeer(t, "Node ws", fmt.Sprintf("install it with: npm ci --prefix %s (as .ci/run does), and node itself if missing, or set WSDBG_NODE", peersDir(t)),
		node, "-e", "require('ws')")
	return node
}

var peerChecks sync.Map // command line → error string ("" when fine)

func checkPeer(t testing.TB, what, hint, name string, args ...string) {
	t.Helper()
	key := name + " " + strings.Join(args, " ")
	res, ok := peerChecks.Load(key)
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, name, args...)
		c.Dir = peersDir(t)
		out, err := c.CombinedOutput()
		msg := ""
		if err != nil {
			msg = fmt.Sprintf("%v: %s", err, bytes.TrimSpace(out))
		}
		res, _ = peerChecks.LoadOrStore(key, msg)
	}
	if msg := res.(string); msg != "" {
		t.Fatalf("cannot start the %s test peer (%s in %s): %s; %s", what, key, peersDir(t), msg, hint)
	}
}

// startPeerServer runs a peer echo server (a script in the peers folder)
// and returns its ws:// URL. The server prints "PORT n" once it listens on
// 127.0.0.1 and exits when its stdin closes, at the end of the test.
func startPeerServer(t testing.TB, interp, script string, args ...string) string {
	t.Helper()
	c := exec.Command(interp, append([]string{filepath.Join(peersDir(t), script)}, args...)...)
	c.Dir = peersDir(t)
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr wstest.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatalf("start the test peer %s: %v", script, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
		if s := stderr.String(); s != "" {
			t.Logf("%s stderr:\n%s", script, s)
		}
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "PORT "); ok {
				port <- p
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case p := <-port:
		return "ws://127.0.0.1:" + p + "/"
	case <-time.After(20 * time.Second):
		t.Fatalf("the test peer %s did not say which port it listens on within 20s; stderr: %s", script, stderr.String())
		return ""
	}
}

// The wsdbg binary, built once for the tests that run it as a process:
// signals reach whole processes, and runs of the binary may overlap where
// cmd.Main's may not (see cmd.MainMu).
var builtWsdbg struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// removeBuiltWsdbg removes the binary wsdbgBinary built; TestMain calls
// it after the tests.
func removeBuiltWsdbg() {
	if builtWsdbg.dir != "" {
		os.RemoveAll(builtWsdbg.dir)
	}
}

// wsdbgBinary returns the path of the wsdbg binary built from this tree.
func wsdbgBinary(t testing.TB) string {
	t.Helper()
	b := &builtWsdbg
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "wsdbg-test-bin-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "wsdbg")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", b.path, "github.com/wsdbg/wsdbg")
		if out, err := build.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// procRun is the outcome of one run of a process.
type procRun struct {
	code     int
	out, err string
}

// runProc runs name with args and stdin, bounded by limit, with a clean
// environment (no proxy variables, no color).
func runProc(t testing.TB, limit time.Duration, stdin string, name string, args ...string) procRun {
	t.Helper()
	r, err := tryProc(limit, stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryProc is runProc for any goroutine: it returns what went wrong.
func tryProc(limit time.Duration, stdin string, name string, args ...string) (procRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "NO_COLOR=1"}
	c.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if ctx.Err() != nil {
		return procRun{}, fmt.Errorf("%s %q did not end within %v; stdout %q, stderr %q", filepath.Base(name), args, limit, out.String(), errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return procRun{}, fmt.Errorf("run %s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return procRun{code, out.String(), errb.String()}, nil
}
