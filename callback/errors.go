package callback

import (
	"errors"
	"net/http"
)

// Sentinel errors returned (wrapped) by [Handler.Check] and
// [Handler.VerifyURL]. Match them with errors.Is. Their messages, and the
// messages of the errors that wrap them, never contain the token, the key,
// signature values or decrypted content.
var (
	// ErrBodyTooLarge reports a request body larger than
	// Config.MaxBodyBytes. ServeHTTP answers 413.
	ErrBodyTooLarge = errors.New("callback: request body too large")

	// ErrMissingParams reports a required query parameter (msg_signature
	// or signature, timestamp, nonce, echostr) that is absent, empty,
	// repeated or not validly percent-encoded. ServeHTTP answers 400.
	ErrMissingParams = errors.New("callback: missing or invalid query parameter")

	// ErrBadSignature reports a msg_signature (or, in plain mode, a
	// signature) that does not match the one computed from the token,
	// timestamp, nonce and ciphertext. ServeHTTP answers 403.
	ErrBadSignature = errors.New("callback: signature mismatch")

	// ErrStaleTimestamp reports a timestamp outside the accepted window
	// around the handler's clock (too old or too far in the future), or one
	// that is not a decimal number of seconds. ServeHTTP answers 403.
	ErrStaleTimestamp = errors.New("callback: timestamp outside the accepted window")

	// ErrDecrypt reports an Encrypt value or echostr that cannot be
	// decrypted: bad base64, bad length, bad padding or a bad length field.
	// ServeHTTP answers 400.
	ErrDecrypt = errors.New("callback: cannot decrypt message")

	// ErrReceiverMismatch reports a decrypted receive ID that differs from
	// Config.ReceiverID. ServeHTTP answers 403.
	ErrReceiverMismatch = errors.New("callback: receive ID mismatch")

	// ErrMalformed reports an outer envelope or a decrypted message that is
	// not the expected XML. ServeHTTP answers 400.
	ErrMalformed = errors.New("callback: malformed XML")
)

// errOverloaded and errStopped are internal reasons for a 503 answer: the
// event is valid but cannot be queued, so the platform should retry.
var (
	errOverloaded = errors.New("callback: event queue full")
	errStopped    = errors.New("callback: handler stopped")
)

// statusFor maps an error from Check or VerifyURL to the HTTP status that
// ServeHTTP answers with.
func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBadSignature),
		errors.Is(err, ErrStaleTimestamp),
		errors.Is(err, ErrReceiverMismatch):
		return http.StatusForbidden
	case errors.Is(err, errOverloaded), errors.Is(err, errStopped):
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// Reason names why a request was rejected, for metrics labels:
// "body_too_large", "missing_params", "bad_signature", "stale_timestamp",
// "decrypt", "receiver_mismatch", "malformed", "method", "overloaded",
// "stopped", or "other".
func Reason(err error) string {
	for _, s := range [...]struct {
		err  error
		name string
	}{
		{ErrBodyTooLarge, "body_too_large"},
		{ErrMissingParams, "missing_params"},
		{ErrBadSignature, "bad_signature"},
		{ErrStaleTimestamp, "stale_timestamp"},
		{ErrDecrypt, "decrypt"},
		{ErrReceiverMismatch, "receiver_mismatch"},
		{ErrMalformed, "malformed"},
		{errMethod, "method"},
		{errOverloaded, "overloaded"},
		{errStopped, "stopped"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}
