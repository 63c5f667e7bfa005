package wxcrypto

import (
	"crypto/sha1"
	"encoding/hex"
)

// SignatureLen is the length of a msg_signature: 40 lower-case hex digits.
const SignatureLen = 2 * sha1.Size

// sigStackBuf is the size of the stack buffer used to concatenate the
// signed strings; larger inputs fall back to a heap buffer. A typical KF
// callback (token ≤ 32, timestamp 10, nonce ~10, Encrypt ~500) fits.
const sigStackBuf = 1024

// signatureHex computes the lower-case hex signature into a fixed array,
// without allocating for inputs that fit sigStackBuf.
func signatureHex(token, timestamp, nonce, encrypt string) [SignatureLen]byte {
	a := [4]string{token, timestamp, nonce, encrypt}
	// Insertion sort of four strings, byte-wise lexicographic like the
	// official libraries' sort.
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	var stack [sigStackBuf]byte
	buf := stack[:0]
	if n := len(token) + len(timestamp) + len(nonce) + len(encrypt); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, a[0]...)
	buf = append(buf, a[1]...)
	buf = append(buf, a[2]...)
	buf = append(buf, a[3]...)
	sum := sha1.Sum(buf)
	var out [SignatureLen]byte
	hex.Encode(out[:], sum[:])
	return out
}

// Signature returns the callback signature (msg_signature) over token,
// timestamp, nonce and encrypt: the lower-case hex SHA-1 of the four strings
// sorted lexicographically and concatenated. For the GET URL verification
// encrypt is the echostr; for POST events it is the Encrypt element.
func Signature(token, timestamp, nonce, encrypt string) string {
	s := signatureHex(token, timestamp, nonce, encrypt)
	return string(s[:])
}

// VerifySignature reports whether signature is the valid msg_signature for
// token, timestamp, nonce and encrypt. The comparison is constant-time in the
// content of signature; a signature that is not exactly 40 characters (or
// not lower-case hex) does not match.
func VerifySignature(token, timestamp, nonce, encrypt, signature string) bool {
	if len(signature) != SignatureLen {
		return false
	}
	want := signatureHex(token, timestamp, nonce, encrypt)
	return equalConstantTime(want[:], signature)
}

// CheckSignature is like [VerifySignature] but returns [ErrBadSignature]
// when the signature does not match, and nil when it does.
func CheckSignature(token, timestamp, nonce, encrypt, signature string) error {
	if !VerifySignature(token, timestamp, nonce, encrypt, signature) {
		return ErrBadSignature
	}
	return nil
}
