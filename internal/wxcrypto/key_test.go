package wxcrypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseKeyOfficial(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key string
	}{
		{"official", officialKey},
		{"go-workwx", gwKey},
		{"go-workwx-2", gw2Key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := mustParseKey(t, tc.key)
			if !k.Valid() {
				t.Fatal("Valid() = false for a parsed key")
			}
			if tc.key == officialKey {
				if got := hex.EncodeToString(k.s.key[:]); got != officialAESKeyHex {
					t.Errorf("AES key = %s, want %s", got, officialAESKeyHex)
				}
			}
			if got, want := hex.EncodeToString(k.s.iv()), hex.EncodeToString(k.s.key[:16]); got != want {
				t.Errorf("IV = %s, want key[:16] = %s", got, want)
			}
		})
	}
}

func TestParseKeyInvalid(t *testing.T) {
	t.Parallel()
	valid := officialKey
	for _, tc := range []struct {
		name, key, wantSub string
	}{
		{"empty", "", "got 0"},
		{"42 chars", valid[:42], "got 42"},
		{"44 chars", valid + "A", "got 44"},
		{"44 chars with padding", valid + "=", "got 44"},
		{"trailing = in 43", valid[:42] + "=", "'=' padding"},
		{"= in the middle", valid[:10] + "=" + valid[11:], "position 10"},
		{"non-base64 char", valid[:5] + "*" + valid[6:], "position 5"},
		{"url-safe alphabet", valid[:7] + "-" + valid[8:], "position 7"},
		{"space", valid[:42] + " ", "position 42"},
		{"newline", "\n" + valid[1:], "position 0"},
		{"multibyte", valid[:41] + "é", "position 41"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseKey(tc.key)
			if err == nil {
				t.Fatal("ParseKey succeeded, want error")
			}
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("error %v does not wrap ErrInvalidKey", err)
			}
			if code, _ := CodeOf(err); code != CodeIllegalAESKey {
				t.Errorf("CodeOf = %v, want %v", code, CodeIllegalAESKey)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("error %q does not mention %q", err, tc.wantSub)
			}
			if len(tc.key) > 8 {
				assertNoSecrets(t, err.Error(), tc.key, tc.key[:8], tc.key[len(tc.key)-8:])
			}
			if k.Valid() {
				t.Error("Valid() = true after a failed ParseKey")
			}
		})
	}
}

// The last character contributes 2 bits that base64 decoding discards.
// Strict decoding requires them to be zero; the official key has them set,
// so ParseKey must ignore them.
func TestParseKeyTrailingBits(t *testing.T) {
	t.Parallel()
	// 'C' = 0b000010 (non-zero trailing bits), 'A' = 0b000000, 'D' = 0b000011.
	base := officialKey[:42]
	kA := mustParseKey(t, base+"A")
	kC := mustParseKey(t, base+"C")
	kD := mustParseKey(t, base+"D")
	if kA.s.key != kC.s.key || kA.s.key != kD.s.key {
		t.Error("keys differing only in the discarded trailing bits decode differently")
	}
}

func TestKeyRedacted(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	keyHex := hex.EncodeToString(k.s.key[:])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%08x"} {
		out := fmt.Sprintf(verb, k)
		assertNoSecrets(t, out, officialKey, keyHex, keyHex[:16], strings.ToUpper(keyHex[:16]))
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("Sprintf(%q) = %q, want a redacted placeholder", verb, out)
		}
	}
	// Also when embedded in another value.
	out := fmt.Sprintf("%+v", struct{ K Key }{k})
	if !strings.Contains(out, "REDACTED") || strings.Contains(out, keyHex[:16]) {
		t.Errorf("embedded key printed as %q", out)
	}
}

func TestZeroKey(t *testing.T) {
	t.Parallel()
	var k Key
	if k.Valid() {
		t.Error("zero Key is Valid")
	}
	if _, err := k.Encrypt(nil, []byte("x"), "id"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Encrypt with zero key: err = %v, want ErrInvalidKey", err)
	}
	if _, _, err := k.Decrypt(getEchostr); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Decrypt with zero key: err = %v, want ErrInvalidKey", err)
	}
	if _, err := k.DecryptFor(getEchostr, officialCorpID); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("DecryptFor with zero key: err = %v, want ErrInvalidKey", err)
	}
}
