package wxcrypto

import (
	"testing"
)

// kfCallback is a realistic kf_msg_or_event callback: its Encrypt value,
// signature and outer POST body.
type kfCallback struct {
	key                              Key
	token, timestamp, nonce, encrypt string
	signature, receiveID             string
	body                             []byte
}

func newKFCallback(tb testing.TB) kfCallback {
	tb.Helper()
	c := kfCallback{
		key:       mustParseKey(tb, officialKey),
		token:     "kjr2TKI8umCBfVF3wAHk8JiPwma5VBme",
		timestamp: "1700000000",
		nonce:     "1584392382",
		receiveID: gwReceiveID,
	}
	var err error
	c.encrypt, err = c.key.Encrypt(nil, []byte(kfEvent), c.receiveID)
	if err != nil {
		tb.Fatal(err)
	}
	c.signature = Signature(c.token, c.timestamp, c.nonce, c.encrypt)
	c.body = EncryptedPostBody(c.receiveID, "", c.encrypt)
	return c
}

func BenchmarkSignature(b *testing.B) {
	c := newKFCallback(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = Signature(c.token, c.timestamp, c.nonce, c.encrypt)
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	c := newKFCallback(b)
	b.ReportAllocs()
	for b.Loop() {
		if !VerifySignature(c.token, c.timestamp, c.nonce, c.encrypt, c.signature) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c := newKFCallback(b)
	b.SetBytes(int64(len(kfEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.key.Decrypt(c.encrypt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptFor(b *testing.B) {
	c := newKFCallback(b)
	b.SetBytes(int64(len(kfEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.key.DecryptFor(c.encrypt, c.receiveID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	c := newKFCallback(b)
	msg := []byte(kfEvent)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.key.Encrypt(nil, msg, c.receiveID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEncryptedPostBody(b *testing.B) {
	c := newKFCallback(b)
	b.SetBytes(int64(len(c.body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ParseEncryptedPostBody(c.body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallbackPath measures the crypto part of handling one POST
// callback: parse the outer body, verify the signature, decrypt and check
// the receive ID.
func BenchmarkCallbackPath(b *testing.B) {
	c := newKFCallback(b)
	b.ReportAllocs()
	for b.Loop() {
		_, enc, _, err := ParseEncryptedPostBody(c.body)
		if err != nil {
			b.Fatal(err)
		}
		if err := CheckSignature(c.token, c.timestamp, c.nonce, enc, c.signature); err != nil {
			b.Fatal(err)
		}
		if _, err := c.key.DecryptFor(enc, c.receiveID); err != nil {
			b.Fatal(err)
		}
	}
}
