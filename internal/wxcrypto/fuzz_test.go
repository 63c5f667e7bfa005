package wxcrypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzDecrypt(f *testing.F) {
	for _, v := range envelopeVectors {
		f.Add(v.ciphertext)
	}
	for _, s := range []string{"", "=", "AAAA", "!!!!", getEchostr[:44], postEncrypt[:len(postEncrypt)-4], strings.Repeat("A", 64)} {
		f.Add(s)
	}
	k := mustParseKey(f, officialKey)
	f.Fuzz(func(t *testing.T, b64 string) {
		msg, rid, err := k.Decrypt(b64)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v does not match ErrDecrypt", err)
			}
			if msg != nil || rid != "" {
				t.Fatal("data returned with an error")
			}
			return
		}
		// Whatever decrypted must re-encrypt and decrypt to the same.
		enc, err := k.Encrypt(nil, msg, rid)
		if err != nil {
			t.Fatal(err)
		}
		msg2, rid2, err := k.Decrypt(enc)
		if err != nil || !bytes.Equal(msg, msg2) || rid != rid2 {
			t.Fatalf("re-encryption round trip failed: %v", err)
		}
	})
}

func FuzzEncryptDecrypt(f *testing.F) {
	f.Add([]byte(getRandom), []byte(getMsg), officialCorpID)
	f.Add([]byte(postRandom), []byte(postMsg), officialCorpID)
	f.Add([]byte(gwRandom), []byte(gwMsg), gwReceiveID)
	f.Add([]byte{}, []byte{}, "")
	f.Add([]byte{0}, []byte(kfEvent), "\x00\xff")
	k := mustParseKey(f, officialKey)
	f.Fuzz(func(t *testing.T, random, msg []byte, receiveID string) {
		// Stretch the random prefix to the 16 bytes Encrypt needs.
		r := append(bytes.Clone(random), make([]byte, 16)...)
		enc, err := k.Encrypt(bytes.NewReader(r), msg, receiveID)
		if err != nil {
			t.Fatal(err)
		}
		got, rid, err := k.Decrypt(enc)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, msg) || rid != receiveID {
			t.Fatalf("round trip = (%q, %q), want (%q, %q)", got, rid, msg, receiveID)
		}
		if _, err := k.DecryptFor(enc, receiveID); err != nil {
			t.Fatalf("DecryptFor: %v", err)
		}
		// The ciphertext is deterministic given the random prefix.
		enc2, _ := k.Encrypt(bytes.NewReader(r), msg, receiveID)
		if enc2 != enc {
			t.Fatal("Encrypt is not deterministic for a fixed random prefix")
		}
	})
}

func FuzzParseEncryptedPostBody(f *testing.F) {
	for _, s := range []string{
		postBody,
		gw2Body,
		string(EncryptedPostBody("ww", "", "e")),
		string(BuildEncryptedXML(officialToken, postEncrypt, postTimestamp, postNonce)),
		"<?xml version=\"1.0\"?>\n<xml>\n <!-- c --> <Encrypt>a&amp;b&#x41;</Encrypt>\n<AgentID/></xml>",
		"<xml><Encrypt><![CDATA[a]]]]><![CDATA[>b]]></Encrypt></xml>",
		"<xml><Encrypt>e</Encrypt><Encrypt>f</Encrypt></xml>",
		"<xml><Foo><Bar/></Foo></xml>",
		"",
		"<",
		"<xml>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		to, enc, agent, err := ParseEncryptedPostBody(body)
		if !bytes.Equal(body, orig) {
			t.Fatal("ParseEncryptedPostBody modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedXML) {
				t.Fatalf("error %v does not match ErrMalformedXML", err)
			}
			if to != "" || enc != "" || agent != "" {
				t.Fatal("values returned with an error")
			}
			return
		}
		if enc == "" {
			t.Fatal("success with an empty Encrypt")
		}
		for _, v := range []string{to, enc, agent} {
			if v != trimXMLSpace(v) {
				t.Fatalf("value %q is not trimmed", v)
			}
		}
		// Rebuilding the envelope and parsing it again is the identity.
		to2, enc2, agent2, err := ParseEncryptedPostBody(EncryptedPostBody(to, agent, enc))
		if err != nil || to2 != to || enc2 != enc || agent2 != agent {
			t.Fatalf("rebuild round trip = (%q, %q, %q, %v), want (%q, %q, %q)", to2, enc2, agent2, err, to, enc, agent)
		}
	})
}

func FuzzUnpad(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x20}, 32))
	f.Add(append(bytes.Repeat([]byte{'a'}, 31), 1))
	f.Add(append(bytes.Repeat([]byte{'a'}, 31), 0))
	f.Add(append(bytes.Repeat([]byte{'a'}, 31), 33))
	f.Add(bytes.Repeat([]byte{0x1f}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unpad(b)
		if err != nil {
			if !errors.Is(err, ErrPadding) || got != nil {
				t.Fatalf("unpad = (%v, %v)", got, err)
			}
			return
		}
		if !bytes.HasPrefix(b, got) {
			t.Fatal("unpad result is not a prefix of its input")
		}
		if re := pad(bytes.Clone(got)); !bytes.Equal(re, b) {
			t.Fatalf("pad(unpad(b)) != b")
		}
	})
}

// FuzzDecryptPlaintext drives the checks that run after AES decryption
// (padding, header, length field) with chosen plaintexts, which random
// ciphertexts almost never reach.
func FuzzDecryptPlaintext(f *testing.F) {
	k := mustParseKey(f, officialKey)
	for _, v := range envelopeVectors[:2] {
		f.Add(rawDecrypt(f, k, v.ciphertext))
	}
	f.Add([]byte("0123456789abcdef\xff\xff\xff\xffshort"))
	f.Add([]byte("0123456789abcdef\x00\x00\x00\x00"))
	f.Add(bytes.Repeat([]byte{0x20}, 32))
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		for _, padIt := range []bool{false, true} {
			p := bytes.Clone(plaintext)
			if padIt {
				p = pad(p)
			}
			if len(p) == 0 || len(p)%16 != 0 {
				continue
			}
			full := bytes.Clone(p)
			msg, rid, err := k.Decrypt(rawEncrypt(t, k, p, false))
			if err != nil {
				if !errors.Is(err, ErrPadding) && !errors.Is(err, ErrBadLength) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			// Success: full = random(16) || len || msg || rid || padding.
			body, perr := unpad(full)
			if perr != nil {
				t.Fatalf("Decrypt accepted what unpad rejects: %v", perr)
			}
			if want := string(body[20:]); string(msg)+rid != want {
				t.Fatalf("msg+rid = %q, want %q", string(msg)+rid, want)
			}
		}
	})
}
