package cmd

import (
	"errors"
	"fmt"
)

// Exit codes, SPEC §7. Scripts depend on these numbers.
const (
	ExitOK           = 0 // success
	ExitFailure      = 1 // failure not listed below: I/O error, connection dropped without a close frame
	ExitUsage        = 2 // bad flag, bad URL
	ExitNoResponse   = 3 // DNS, TCP, TLS or proxy failure, timeout, not-http, head-too-large
	ExitRefused      = 4 // the server answered with a status other than 101
	ExitHandshake    = 5 // 101 with error-level diagnostics
	ExitProtocol     = 6 // protocol violation after the handshake (close 1002/1007/1009)
	ExitExpectation  = 7 // an --expect* or --count was not met
	ExitPeerCloseErr = 8 // the server closed with a code other than 1000, 1001, none or the code wsdbg sent
	// ExitInterrupted: a second Ctrl-C (SIGINT or SIGTERM) ended wsdbg at
	// once, as a shell reports a death by SIGINT (128+2).
	ExitInterrupted = 130
)

// ExitError carries the exit code for an error. Quiet means the error has
// already been reported (as diagnostics, or as an NDJSON error event) and
// Main must not print it again.
type ExitError struct {
	Code  int
	Err   error
	Quiet bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// usageErrorf reports a usage error (exit 2).
func usageErrorf(format string, args ...any) error {
	return exitf(ExitUsage, format, args...)
}

// exitCodeOf maps an error to its exit code. It is the one place where
// errors become numbers.
func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
