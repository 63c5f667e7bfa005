package wxcrypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var envelopeVectors = []struct {
	name, key, ciphertext, random, msg, receiveID string
}{
	{"official GET echostr", officialKey, getEchostr, getRandom, getMsg, officialCorpID},
	{"official POST", officialKey, postEncrypt, postRandom, postMsg, officialCorpID},
	{"go-workwx echo", gwKey, gwCiphertext, gwRandom, gwMsg, gwReceiveID},
	{"go-workwx body", gw2Key, gw2Encrypt, "", gw2Msg, gwReceiveID},
	{"go-workwx body 2", gw2Key, gw3Encrypt, "", gw3Msg, gw3ReceiveID},
}

func TestDecryptVectors(t *testing.T) {
	t.Parallel()
	for _, v := range envelopeVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			k := mustParseKey(t, v.key)
			msg, rid, err := k.Decrypt(v.ciphertext)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if diff := cmp.Diff(v.msg, string(msg)); diff != "" {
				t.Errorf("msg mismatch (-want +got):\n%s", diff)
			}
			if rid != v.receiveID {
				t.Errorf("receiveID = %q, want %q", rid, v.receiveID)
			}
			got, err := k.DecryptFor(v.ciphertext, v.receiveID)
			if err != nil || string(got) != v.msg {
				t.Errorf("DecryptFor = (%q, %v)", got, err)
			}

			// The random prefix and the layout of the full plaintext.
			p := rawDecrypt(t, k, v.ciphertext)
			if v.random != "" && string(p[:16]) != v.random {
				t.Errorf("random prefix = %q, want %q", p[:16], v.random)
			}
			if l := binary.BigEndian.Uint32(p[16:20]); int(l) != len(v.msg) {
				t.Errorf("length field = %d, want %d", l, len(v.msg))
			}

			// Re-encrypting with the recovered random prefix reproduces
			// the ciphertext byte for byte.
			enc, err := k.Encrypt(bytes.NewReader(p[:16]), []byte(v.msg), v.receiveID)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if enc != v.ciphertext {
				t.Errorf("re-encryption mismatch:\n got %s\nwant %s", enc, v.ciphertext)
			}
		})
	}
}

// The official vectors state the padding length of each plaintext.
func TestOfficialPadding(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	for _, tc := range []struct {
		ciphertext string
		pad        int
	}{{getEchostr, 7}, {postEncrypt, 30}} {
		buf, _ := base64.StdEncoding.DecodeString(tc.ciphertext)
		cipher.NewCBCDecrypter(k.s.block, k.s.iv()).CryptBlocks(buf, buf)
		if got := int(buf[len(buf)-1]); got != tc.pad {
			t.Errorf("pad = %d, want %d", got, tc.pad)
		}
	}
	if len(postMsg) != 284 {
		t.Errorf("len(postMsg) = %d, want 284", len(postMsg))
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	for _, tc := range []struct {
		name string
		msg  []byte
		rid  string
	}{
		{"empty", nil, ""},
		{"empty msg", []byte{}, officialCorpID},
		{"kf event", []byte(kfEvent), gwReceiveID},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe}, "\x00\xff"},
		{"aligned 12", bytes.Repeat([]byte{'x'}, 12), ""}, // 16+4+12 = 32
		{"large", bytes.Repeat([]byte("0123456789"), 10000), "wwABC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			enc, err := k.Encrypt(nil, tc.msg, tc.rid) // crypto/rand
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			msg, rid, err := k.Decrypt(enc)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(msg, tc.msg) || rid != tc.rid {
				t.Errorf("round trip = (%q, %q)", trunc(msg), rid)
			}
			// Two encryptions differ thanks to the random prefix.
			enc2, _ := k.Encrypt(nil, tc.msg, tc.rid)
			if enc2 == enc {
				t.Error("two encryptions with crypto/rand are identical")
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func TestEncryptRandomErrors(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	secret := "top secret plaintext"
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"empty reader", strings.NewReader("")},
		{"short reader", strings.NewReader("0123456789")},
		{"failing reader", errReader{}},
	} {
		enc, err := k.Encrypt(tc.r, []byte(secret), officialCorpID)
		if !errors.Is(err, ErrEncrypt) || enc != "" {
			t.Errorf("%s: Encrypt = (%q, %v), want ErrEncrypt", tc.name, enc, err)
			continue
		}
		if code, _ := CodeOf(err); code != CodeEncryptAES {
			t.Errorf("%s: CodeOf = %v", tc.name, code)
		}
		assertNoSecrets(t, err.Error(), secret, officialKey)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestDecryptErrors(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	raw, _ := base64.StdEncoding.DecodeString(postEncrypt)
	b64 := base64.StdEncoding.EncodeToString
	tamper := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return b64(b)
	}
	// plaintext builds a properly padded and encrypted plaintext from the
	// given header fields, to exercise the length checks.
	plaintext := func(length uint32, body string) string {
		p := make([]byte, 20, 20+len(body))
		copy(p, "0123456789abcdef")
		binary.BigEndian.PutUint32(p[16:], length)
		return rawEncrypt(t, k, append(p, body...), true)
	}
	wrongKey := mustParseKey(t, gwKey)
	wrongKeyCiphertext, _ := wrongKey.Encrypt(strings.NewReader(postRandom), []byte(postMsg), officialCorpID)

	for _, tc := range []struct {
		name  string
		in    string
		want  error
		code  ErrorCode
		nopad bool
	}{
		{"empty", "", ErrCiphertext, CodeDecryptAES, false},
		{"garbage base64", "!!!not base64!!!", ErrBase64, CodeDecodeBase64, false},
		{"url-safe base64", strings.NewReplacer("+", "-", "/", "_").Replace(postEncrypt), ErrBase64, CodeDecodeBase64, false},
		{"missing padding", strings.TrimRight(postEncrypt, "="), ErrBase64, CodeDecodeBase64, false},
		{"space inside", postEncrypt[:10] + " " + postEncrypt[10:], ErrBase64, CodeDecodeBase64, false},
		{"5 bytes", b64(raw[:5]), ErrCiphertext, CodeDecryptAES, false},
		{"truncated by 1", b64(raw[:len(raw)-1]), ErrCiphertext, CodeDecryptAES, false},
		{"16 bytes", b64(raw[:16]), ErrPadding, CodeIllegalBuffer, false},
		{"truncated by one AES block", b64(raw[:len(raw)-16]), ErrPadding, CodeIllegalBuffer, false},
		{"truncated by one pad block", b64(raw[:len(raw)-32]), ErrPadding, CodeIllegalBuffer, false},
		{"tampered last block", tamper(len(raw) - 1), ErrPadding, CodeIllegalBuffer, false},
		{"wrong key", wrongKeyCiphertext, ErrPadding, CodeIllegalBuffer, false},
		{"length field too big", plaintext(1000, "short"), ErrBadLength, CodeIllegalBuffer, false},
		{"length field max", plaintext(0xffffffff, "short"), ErrBadLength, CodeIllegalBuffer, false},
		{"length field one too big", plaintext(6, "short"), ErrBadLength, CodeIllegalBuffer, false},
		{"plaintext shorter than header", rawEncrypt(t, k, []byte("0123456789abcdef\x00\x00\x00"), true), ErrBadLength, CodeIllegalBuffer, false},
		{"empty plaintext", rawEncrypt(t, k, nil, true), ErrBadLength, CodeIllegalBuffer, false},
		{"unpadded plaintext", rawEncrypt(t, k, bytes.Repeat([]byte{'a'}, 64), false), ErrPadding, CodeIllegalBuffer, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, rid, err := k.Decrypt(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = (%q, %q, %v), want %v", trunc(msg), rid, err, tc.want)
			}
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("error %v does not match ErrDecrypt", err)
			}
			if code, ok := CodeOf(err); !ok || code != tc.code {
				t.Errorf("CodeOf = %v, %v; want %v", code, ok, tc.code)
			}
			if msg != nil || rid != "" {
				t.Errorf("Decrypt returned data with an error")
			}
			if _, err := k.DecryptFor(tc.in, officialCorpID); !errors.Is(err, tc.want) {
				t.Errorf("DecryptFor err = %v, want %v", err, tc.want)
			}
			assertNoSecrets(t, err.Error(), officialKey, officialToken, "mycreate", "hello")
		})
	}

	// Tampering with a middle block garbles the plaintext; it must not
	// panic, whatever the outcome.
	for i := range raw {
		if _, _, err := k.Decrypt(tamper(i)); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Errorf("tamper byte %d: unexpected error class %v", i, err)
		}
	}
}

func TestDecryptLengthZeroAndAllReceiveID(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	p := append([]byte("0123456789abcdef\x00\x00\x00\x00"), "wxid"...)
	msg, rid, err := k.Decrypt(rawEncrypt(t, k, p, true))
	if err != nil || len(msg) != 0 || rid != "wxid" {
		t.Errorf("Decrypt = (%q, %q, %v)", msg, rid, err)
	}
	// Length equal to the remainder: empty receive ID.
	p = append([]byte("0123456789abcdef\x00\x00\x00\x04"), "wxid"...)
	msg, rid, err = k.Decrypt(rawEncrypt(t, k, p, true))
	if err != nil || string(msg) != "wxid" || rid != "" {
		t.Errorf("Decrypt = (%q, %q, %v)", msg, rid, err)
	}
	// The returned msg must not alias the receive ID when appended to.
	msg = append(msg, 'X')
	if string(msg) != "wxidX" {
		t.Errorf("append to msg = %q", msg)
	}
}

func TestReceiverMismatch(t *testing.T) {
	t.Parallel()
	k := mustParseKey(t, officialKey)
	for _, want := range []string{
		"",
		"wx5823bf96d3bd56c8",
		"wx5823bf96d3bd56c",
		"wx5823bf96d3bd56c77",
		"WX5823BF96D3BD56C7",
		"ww6a112864f8022910",
	} {
		msg, err := k.DecryptFor(getEchostr, want)
		if !errors.Is(err, ErrReceiverMismatch) || msg != nil {
			t.Errorf("DecryptFor(%q) = (%q, %v), want ErrReceiverMismatch", want, msg, err)
		}
		if errors.Is(err, ErrDecrypt) {
			t.Errorf("receiver mismatch must not match ErrDecrypt")
		}
		if code, _ := CodeOf(err); code != CodeValidateReceiveID {
			t.Errorf("CodeOf = %v", code)
		}
		if err := CheckReceiveID(officialCorpID, want); !errors.Is(err, ErrReceiverMismatch) {
			t.Errorf("CheckReceiveID(%q) = %v", want, err)
		}
		assertNoSecrets(t, err.Error(), getMsg, officialCorpID)
	}
	if err := CheckReceiveID(officialCorpID, officialCorpID); err != nil {
		t.Errorf("CheckReceiveID(equal) = %v", err)
	}
	if err := CheckReceiveID("", ""); err != nil {
		t.Errorf("CheckReceiveID(empty, empty) = %v", err)
	}
}

func TestDecryptAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	k := mustParseKey(t, officialKey)
	enc, _ := k.Encrypt(nil, []byte(kfEvent), gwReceiveID)
	n := testing.AllocsPerRun(100, func() {
		if _, err := k.DecryptFor(enc, gwReceiveID); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("DecryptFor: %v allocs", n)
	if n > 3 {
		t.Errorf("DecryptFor allocates %v times, want ≤ 3", n)
	}
}
