package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"io"
)

// EncodingAESKeyLen is the length of an EncodingAESKey: 43 characters of the
// standard base64 alphabet, without the trailing "=".
const EncodingAESKeyLen = 43

// Key is a parsed EncodingAESKey: an AES-256 key whose first 16 bytes are
// also the CBC initialisation vector. Obtain one with [ParseKey]; the zero
// Key is invalid and its methods return [ErrInvalidKey]. A Key is immutable
// and safe for concurrent use. Formatting a Key with the fmt package prints a
// redacted placeholder, never the key material.
type Key struct {
	s *keyState // nil for the zero Key
}

// keyState lives on the heap so that slicing the IV out of it does not
// force a per-call allocation of the Key.
type keyState struct {
	block cipher.Block
	key   [32]byte
}

// ParseKey validates an EncodingAESKey and returns the AES key it encodes.
//
// The key must be exactly 43 characters of the standard base64 alphabet
// (A–Z, a–z, 0–9, '+', '/') with no '=' padding; the AES key is
// base64_decode(encodingAESKey + "="). The two unused low bits of the last
// character are ignored rather than required to be zero, as in the official
// libraries: the official sample key (ending in "C") has them set.
//
// Errors wrap [ErrInvalidKey] and name the problem (length, position of an
// invalid character) without ever including the key.
func ParseKey(encodingAESKey string) (Key, error) {
	if n := len(encodingAESKey); n != EncodingAESKeyLen {
		return Key{}, fmt.Errorf("%w: must be %d characters, got %d", ErrInvalidKey, EncodingAESKeyLen, n)
	}
	for i := 0; i < len(encodingAESKey); i++ {
		c := encodingAESKey[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
		case c == '=':
			return Key{}, fmt.Errorf("%w: '=' padding is not allowed (position %d)", ErrInvalidKey, i)
		default:
			return Key{}, fmt.Errorf("%w: character at position %d is not in the base64 alphabet", ErrInvalidKey, i)
		}
	}
	k := &keyState{}
	var src [EncodingAESKeyLen + 1]byte
	copy(src[:], encodingAESKey)
	src[EncodingAESKeyLen] = '='
	// StdEncoding (not .Strict()) ignores the non-zero trailing bits.
	n, err := base64.StdEncoding.Decode(k.key[:], src[:])
	clear(src[:])
	if err != nil || n != len(k.key) {
		// Unreachable after the alphabet check; keep the key out of err.
		return Key{}, fmt.Errorf("%w: cannot decode base64", ErrInvalidKey)
	}
	block, err := aes.NewCipher(k.key[:])
	if err != nil {
		return Key{}, fmt.Errorf("%w: cannot create AES cipher", ErrInvalidKey)
	}
	k.block = block
	return Key{s: k}, nil
}

// Valid reports whether k was produced by a successful [ParseKey].
func (k Key) Valid() bool { return k.s != nil }

// iv returns the CBC initialisation vector, the first 16 bytes of the key.
func (k *keyState) iv() []byte { return k.key[:aes.BlockSize] }

const redactedKey = "wxcrypto.Key{REDACTED}"

// String returns a redacted placeholder; it never reveals the key.
func (k Key) String() string { return redactedKey }

// GoString returns a redacted placeholder; it never reveals the key.
func (k Key) GoString() string { return redactedKey }

// Format writes a redacted placeholder for every verb, so that no fmt verb
// (including %x and %d) can print the key material.
func (k Key) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, redactedKey) }
