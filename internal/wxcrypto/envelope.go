package wxcrypto

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

const (
	randomLen = 16            // random prefix of the plaintext
	headerLen = randomLen + 4 // random prefix plus the uint32 length field
)

// Encrypt builds the Encrypt value (standard base64 with padding) for msg
// addressed to receiveID: random(16) || uint32_be(len(msg)) || msg ||
// receiveID, padded with PKCS#7 (block size 32) and encrypted with
// AES-256-CBC.
//
// The 16 random bytes are read from random, or from crypto/rand when random
// is nil; inject a fixed reader to produce reproducible ciphertexts in tests.
// Errors wrap [ErrInvalidKey] (zero Key) or [ErrEncrypt].
func (k Key) Encrypt(random io.Reader, msg []byte, receiveID string) (string, error) {
	if k.s == nil {
		return "", ErrInvalidKey
	}
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("%w: message of %d bytes exceeds the 32-bit length field", ErrEncrypt, len(msg))
	}
	if random == nil {
		random = rand.Reader
	}
	n := headerLen + len(msg) + len(receiveID)
	buf := make([]byte, n, n+padLen(n))
	if _, err := io.ReadFull(random, buf[:randomLen]); err != nil {
		return "", fmt.Errorf("%w: reading random prefix: %w", ErrEncrypt, err)
	}
	binary.BigEndian.PutUint32(buf[randomLen:headerLen], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], receiveID)
	buf = pad(buf)
	if err := k.encryptCBC(buf); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}

// open base64-decodes b64 into a fresh buffer, decrypts it in place and
// splits the plaintext. msg and receiveID alias that buffer.
func (k Key) open(b64 string) (msg, receiveID []byte, err error) {
	if k.s == nil {
		return nil, nil, ErrInvalidKey
	}
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// The base64 error names an offset only, never the content.
		return nil, nil, fmt.Errorf("%w: %w", ErrBase64, err)
	}
	p, err := k.decryptCBC(buf)
	if err != nil {
		return nil, nil, err
	}
	if len(p) < headerLen {
		return nil, nil, fmt.Errorf("%w: plaintext of %d bytes is shorter than its %d-byte header", ErrBadLength, len(p), headerLen)
	}
	l := binary.BigEndian.Uint32(p[randomLen:headerLen])
	rest := p[headerLen:]
	if uint64(l) > uint64(len(rest)) {
		return nil, nil, fmt.Errorf("%w: length field %d exceeds the %d remaining bytes", ErrBadLength, l, len(rest))
	}
	return rest[:l:l], rest[l:], nil
}

// Decrypt decrypts an Encrypt value (or a GET echostr) and returns the
// message and the receive ID that follows it. It never panics; malformed
// input yields an error wrapping [ErrBase64], [ErrCiphertext], [ErrPadding]
// or [ErrBadLength] (all of which match [ErrDecrypt]), or [ErrInvalidKey]
// for the zero Key. The receive ID is not checked: use [Key.DecryptFor] for
// that. The returned msg is owned by the caller.
func (k Key) Decrypt(b64 string) (msg []byte, receiveID string, err error) {
	m, rid, err := k.open(b64)
	if err != nil {
		return nil, "", err
	}
	return m, string(rid), nil
}

// DecryptFor is like [Key.Decrypt] but also checks, in constant time, that
// the decrypted receive ID equals receiveID (the CorpID, SuiteID or AppID);
// otherwise it returns [ErrReceiverMismatch]. The expected ID is compared
// exactly: an empty receiveID matches only an empty decrypted ID.
func (k Key) DecryptFor(b64, receiveID string) ([]byte, error) {
	m, rid, err := k.open(b64)
	if err != nil {
		return nil, err
	}
	if !equalConstantTime(rid, receiveID) {
		return nil, ErrReceiverMismatch
	}
	return m, nil
}

// CheckReceiveID returns [ErrReceiverMismatch] unless got equals want. The
// comparison is constant-time in the content of the strings (their lengths
// are not secret).
func CheckReceiveID(got, want string) error {
	if !equalConstantTime(got, want) {
		return ErrReceiverMismatch
	}
	return nil
}

// equalConstantTime reports whether a equals b, in time that depends on
// their lengths but not on their content.
func equalConstantTime[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}
