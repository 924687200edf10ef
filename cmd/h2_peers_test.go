package cmd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsdbg/wsdbg/wire"
)

// xnetPeerEnv makes the test binary run the x/net HTTP/2 peer instead of
// the tests (see TestMain). The peer needs GODEBUG=http2xconnect=1, which
// x/net reads from the environment when it initialises, before any test
// could set it; so it runs in a child process started with it.
const xnetPeerEnv = "WSDBG_TEST_XNET_H2_PEER"

func TestMain(m *testing.M) {
	if os.Getenv(xnetPeerEnv) == "1" {
		runXNetPeer()
		return
	}
	code := m.Run()
	removeBuiltWsdbg()
	os.Exit(code)
}

// runXNetPeer serves h2c with prior knowledge on 127.0.0.1 through x/net's
// http2.Server with extended CONNECT (RFC 8441) switched on, prints
// "listening ADDR" and echoes WebSocket messages (framing by wire's server
// role) until stdin closes. It supports the subprotocol "superchat".
func runXNetPeer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv := &http2.Server{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT for websocket", http.StatusBadRequest)
			return
		}
		for _, p := range strings.Split(r.Header.Get("Sec-Websocket-Protocol"), ",") {
			if strings.TrimSpace(p) == "superchat" {
				w.Header().Set("Sec-Websocket-Protocol", "superchat")
			}
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		c := wire.NewConn(bufio.NewReader(r.Body), flushWriter{w}, wire.Config{Role: wire.RoleServer, MaxMessageSize: 4 << 20})
		for {
			m, err := c.Read()
			if err != nil {
				return
			}
			switch m.Op {
			case wire.OpText, wire.OpBinary:
				if c.WriteMessage(m.Op, m.Data) != nil {
					return
				}
			case wire.OpPing:
				c.WriteControl(wire.OpPong, m.Data)
			case wire.OpClose:
				c.WriteClose(m.CloseCode, "")
				return
			}
		}
	})
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go srv.ServeConn(nc, &http2.ServeConnOpts{Handler: h})
	}
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.w.(http.Flusher).Flush()
	return n, err
}

// startPeerProcess starts a peer process that prints "listening ADDR" or
// "listening PORT" and returns the address; closing its stdin at cleanup
// ends it.
func startPeerProcess(t testing.TB, c *exec.Cmd) string {
	t.Helper()
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Path, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), "listening ")
		if !ok {
			t.Fatalf("%s printed %q instead of its address", c.Path, s)
		}
		if !strings.Contains(addr, ":") {
			addr = "127.0.0.1:" + addr
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not say where it listens within 10s", c.Path)
	}
	return ""
}

// startNodeH2 runs testdata/peers/h2echo.js, Node's http2 module with
// enableConnectProtocol, supporting the subprotocols protos.
func startNodeH2(t testing.TB, protos ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the Node http2 interoperability test and is not on PATH (%v); install Node.js 18 or later", err)
	}
	return startPeerProcess(t, exec.Command(node, append([]string{"../testdata/peers/h2echo.js"}, protos...)...))
}

// startXNetH2 runs the x/net peer of runXNetPeer in a child process.
func startXNetH2(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, "-test.run=^$")
	c.Env = append(os.Environ(), xnetPeerEnv+"=1", "GODEBUG=http2xconnect=1")
	return startPeerProcess(t, c)
}
