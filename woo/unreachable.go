package woo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// ErrUnreachable is matched (errors.Is) by the error of a request that never
// got an answer from the store because it could not be reached: the name
// does not resolve, the connection is refused or cannot be made, the TLS
// handshake fails, or the connection is reset or closed before any answer.
// An answer of any status, a timeout while the store works, or an
// ErrOutcomeUnknown are not "unreachable". IsUnreachable is the same test.
var ErrUnreachable = errors.New("store unreachable")

// IsUnreachable reports whether err matches ErrUnreachable.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// unreachableTriesBeforeAnswer is how many attempts a request makes against
// an unreachable store while the client has never had an answer from it in
// its life: a store that is down or misaddressed from the start will not
// come up within the minutes the usual retries take, and the owner should
// learn it in seconds. Once the store has answered, an unreachable store is
// a blip in a long run and gets the usual retries.
const unreachableTriesBeforeAnswer = 2

// unreachableError is the error of a request that could not reach the
// store. Its message starts with "store unreachable: " and the cause.
type unreachableError struct {
	err   error
	tries int
}

func (e *unreachableError) Error() string {
	msg := ErrUnreachable.Error() + ": " + e.err.Error()
	if e.tries > 1 {
		msg += fmt.Sprintf(" (gave up after %d attempts)", e.tries)
	}
	return msg
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// attemptsError is the last error of a request that was tried more than
// once.
type attemptsError struct {
	tries int
	err   error
}

func (e *attemptsError) Error() string {
	return fmt.Sprintf("giving up after %d attempts: %v", e.tries, e.err)
}
func (e *attemptsError) Unwrap() error { return e.err }

// asUnreachable returns err as an unreachable error when it shows the store
// could not be reached, else nil.
func asUnreachable(err error) error {
	if !errUnreachable(err) {
		return nil
	}
	tries := 1
	var ae *attemptsError
	if errors.As(err, &ae) {
		tries, err = ae.tries, ae.err
	}
	return &unreachableError{err: err, tries: tries}
}

// errUnreachable reports whether a transport error shows the request never
// got an answer because the store could not be reached.
func errUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var timeout *attemptTimeoutError
	var ns *notSentError
	if errors.As(err, &timeout) || errors.As(err, &ns) {
		// A slow store was reached; a request stopped by the limiter,
		// the context or the auth guard never tried.
		return false
	}
	var dnsErr *net.DNSError
	var op *net.OpError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &op) && op.Op == "dial":
		return true
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// net/http's error for a connection closed before the answer's
		// first line.
		return true
	}
	return false
}
