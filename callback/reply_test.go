package callback

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Config.Reply: its answer is the (encrypted) body of the 200, it is called
// once per event (a retried callback gets an empty 200), a panic in it
// still acknowledges and delivers the event, and an empty answer is an
// empty 200.
func TestPassiveReply(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	answer := []byte("<xml><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")
	hs := newHarness(t, func(c *Config) {
		c.Reply = func(_ context.Context, ev Event) []byte {
			calls.Add(1)
			k, _ := ev.KfMsgOrEvent()
			switch k.Token {
			case "panic":
				panic("boom")
			case "none":
				return nil
			}
			return answer
		}
	})
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 41)
	q, body, err := b.KfMsgOrEvent(testOpenKfID, "reply", testNow)
	if err != nil {
		t.Fatal(err)
	}
	w := serve(hs.h, post(q, body))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d; log %s", w.Code, hs.log)
	}
	checkReplyEnvelope(t, w.Body.Bytes(), testToken, testKey, testCorpID, answer, testNow)
	hs.next(t)

	// The platform's retry of the same callback (re-signed, re-encrypted).
	q2, body2, err := b.KfMsgOrEvent(testOpenKfID, "reply", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(hs.h, post(q2, body2)); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("retry: %d %q, want an empty 200", w.Code, w.Body)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Reply called %d times, want 1", n)
	}

	for _, tok := range []string{"panic", "none"} {
		if w := serve(hs.h, kfEvent(t, b, testOpenKfID, tok, testNow)); w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("%s: %d %q, want an empty 200", tok, w.Code, w.Body)
		}
		if k, _ := hs.next(t).KfMsgOrEvent(); k.Token != tok {
			t.Errorf("delivered token %q, want %q", k.Token, tok)
		}
	}
	hs.none(t)
}

// During a key rotation, a passive reply to a request made with the
// previous credentials is sealed with the previous credentials: the
// platform that still signs with them also verifies and decrypts the reply
// with them, and would reject a reply sealed with the new pair.
func TestPassiveReplyUsesTheRequestsCredentials(t *testing.T) {
	t.Parallel()
	ends := testNow.Add(time.Hour)
	answer := []byte("<xml><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")
	for _, tt := range []struct {
		name string
		prev Credentials
	}{
		{"token and key", Credentials{Token: otherToken, EncodingAESKey: otherKey}},
		{"key only", Credentials{Token: testToken, EncodingAESKey: otherKey}},
		{"token only", Credentials{Token: otherToken, EncodingAESKey: testKey}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, func(c *Config) {
				c.Previous = &tt.prev
				c.RotationEnds = ends
				c.Reply = func(context.Context, Event) []byte { return answer }
			})
			hs.run(t)
			for i, c := range []Credentials{
				{Token: testToken, EncodingAESKey: testKey},
				tt.prev,
			} {
				b := mustBuilder(t, c.Token, c.EncodingAESKey, testCorpID, byte(50+i))
				w := serve(hs.h, kfEvent(t, b, testOpenKfID, c.Token+c.EncodingAESKey[:4], testNow))
				if w.Code != http.StatusOK {
					t.Fatalf("status %d; log %s", w.Code, hs.log)
				}
				checkReplyEnvelope(t, w.Body.Bytes(), c.Token, c.EncodingAESKey, testCorpID, answer, testNow)
				hs.next(t)
			}
		})
	}
}
