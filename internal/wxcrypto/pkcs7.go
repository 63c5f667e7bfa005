package wxcrypto

import (
	"crypto/subtle"
	"fmt"
)

// padBlock is the PKCS#7 block size used by WXBizMsgCrypt. It is 32, not the
// AES block size of 16.
const padBlock = 32

// padLen returns the number of padding bytes appended to n bytes.
func padLen(n int) int { return padBlock - n%padBlock }

// pad appends PKCS#7 padding (block size 32) to b and returns the extended
// slice, reusing b's spare capacity when possible. Between 1 and 32 bytes
// are added; a 32-byte-aligned input gets 32 bytes of 0x20.
func pad(b []byte) []byte {
	p := padLen(len(b))
	for range p {
		b = append(b, byte(p))
	}
	return b
}

// unpad removes PKCS#7 padding (block size 32) from b and returns the
// remaining prefix of b. It fails with ErrPadding when len(b) is not a
// non-zero multiple of 32, when the pad value is 0 or greater than 32, or
// when the padding bytes are not all equal to the pad value. The padding
// bytes are checked in constant time with respect to their content.
func unpad(b []byte) ([]byte, error) {
	n := len(b)
	if n == 0 || n%padBlock != 0 {
		return nil, fmt.Errorf("%w: data length %d is not a non-zero multiple of %d", ErrPadding, n, padBlock)
	}
	p := b[n-1]
	// good is 1 when 1 <= p <= 32.
	good := subtle.ConstantTimeLessOrEq(1, int(p)) & subtle.ConstantTimeLessOrEq(int(p), padBlock)
	// Check the last 32 bytes: those within the padding must equal p.
	tail := b[n-padBlock:]
	for i := range padBlock {
		inPad := subtle.ConstantTimeLessOrEq(padBlock-i, int(p)) // byte i is one of the last p bytes
		eq := subtle.ConstantTimeByteEq(tail[i], p)
		good &= eq | (inPad ^ 1)
	}
	if good != 1 {
		return nil, ErrPadding
	}
	return b[:n-int(p)], nil
}
