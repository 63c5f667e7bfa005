package wxcrypto

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

var signatureVectors = []struct {
	name, token, timestamp, nonce, encrypt, want string
}{
	{"official GET", officialToken, getTimestamp, getNonce, getEchostr, getSignature},
	{"official POST", officialToken, postTimestamp, postNonce, postEncrypt, postSignature},
	{"go-workwx echo", gwToken, gwTimestamp, gwNonce, gwCiphertext, gwSignature},
	{"go-workwx body", gw2Token, gw2Timestamp, gw2Nonce, gw2Encrypt, gw2Signature},
	{"go-workwx body 2", gw2Token, gw2Timestamp, gw2Nonce, gw3Encrypt, gw3Signature},
}

// referenceSignature is a straightforward implementation of the algorithm.
func referenceSignature(parts ...string) string {
	s := slices.Clone(parts)
	slices.Sort(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	for _, v := range signatureVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			if got := Signature(v.token, v.timestamp, v.nonce, v.encrypt); got != v.want {
				t.Errorf("Signature = %s, want %s", got, v.want)
			}
			if !VerifySignature(v.token, v.timestamp, v.nonce, v.encrypt, v.want) {
				t.Error("VerifySignature = false for the official signature")
			}
			if err := CheckSignature(v.token, v.timestamp, v.nonce, v.encrypt, v.want); err != nil {
				t.Errorf("CheckSignature = %v", err)
			}
		})
	}
}

func TestSignatureMatchesReference(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("AbC+/=", 400) // > the stack buffer
	cases := [][4]string{
		{"", "", "", ""},
		{"a", "a", "a", "a"},
		{"b", "a", "ab", ""},
		{"token", "1700000000", "nonce", long},
		{long, long[:1000], long[1:], "x"},
		{"\xff", "\x00", "é", "Z"},
	}
	for _, c := range cases {
		want := referenceSignature(c[:]...)
		if got := Signature(c[0], c[1], c[2], c[3]); got != want {
			t.Errorf("Signature(%.20q...) = %s, want %s", c, got, want)
		}
		// The signature is independent of argument order.
		if got := Signature(c[3], c[2], c[1], c[0]); got != want {
			t.Errorf("reversed Signature = %s, want %s", got, want)
		}
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	t.Parallel()
	v := signatureVectors[0]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	for _, tc := range []struct{ name, sig string }{
		{"empty", ""},
		{"first char", flip(v.want, 0)},
		{"last char", flip(v.want, 39)},
		{"upper case", strings.ToUpper(v.want)},
		{"truncated", v.want[:39]},
		{"extended", v.want + "0"},
		{"raw sha1 length", v.want[:20]},
		{"with space", " " + v.want[:39]},
	} {
		if VerifySignature(v.token, v.timestamp, v.nonce, v.encrypt, tc.sig) {
			t.Errorf("%s: VerifySignature = true", tc.name)
		}
		err := CheckSignature(v.token, v.timestamp, v.nonce, v.encrypt, tc.sig)
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: CheckSignature = %v, want ErrBadSignature", tc.name, err)
		}
		if code, _ := CodeOf(err); code != CodeValidateSignature {
			t.Errorf("%s: CodeOf = %v", tc.name, code)
		}
	}
	// Any other field changed.
	if VerifySignature(v.token+"x", v.timestamp, v.nonce, v.encrypt, v.want) ||
		VerifySignature(v.token, "1409659590", v.nonce, v.encrypt, v.want) ||
		VerifySignature(v.token, v.timestamp, v.nonce+"1", v.encrypt, v.want) ||
		VerifySignature(v.token, v.timestamp, v.nonce, v.encrypt[1:], v.want) {
		t.Error("VerifySignature accepted a signature over different inputs")
	}
}

func TestSignatureAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	v := signatureVectors[1]
	if n := testing.AllocsPerRun(100, func() {
		VerifySignature(v.token, v.timestamp, v.nonce, v.encrypt, v.want)
	}); n != 0 {
		t.Errorf("VerifySignature allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = Signature(v.token, v.timestamp, v.nonce, v.encrypt)
	}); n > 1 {
		t.Errorf("Signature allocates %v times, want ≤ 1", n)
	}
}
