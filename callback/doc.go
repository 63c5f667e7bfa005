// Package callback receives WeCom 微信客服 (KF) callbacks, and Official
// Account (公众号) pushes, over HTTP.
//
// A [Handler], built by [New] from a [Config], is an http.Handler for the
// callback URL configured in the WeCom admin console (or the Official
// Account console). It answers the GET URL verification, and for every
// POSTed event it verifies the request, decrypts and decodes the message,
// acknowledges at once, and hands the [Event] to Config.OnEvent on a
// worker goroutine run by [Handler.Run]:
//
//	h, err := callback.New(callback.Config{
//		Token:          token,
//		EncodingAESKey: encodingAESKey,
//		ReceiverID:     corpID,
//		OnEvent: func(ctx context.Context, ev callback.Event) {
//			if e, ok := ev.KfMsgOrEvent(); ok {
//				wake(ctx, e.OpenKfID, e.Token) // pull the messages with sync_msg
//			}
//		},
//	})
//	go h.Run(ctx)
//	mux.Handle("/kf/callback", h)
//
// # Checks
//
// Every POST goes through these checks, in this order; the first failure
// ends the request with the status shown and an error wrapping the
// sentinel shown (as returned by [Handler.Check]):
//
//  1. Body size: at most Config.MaxBodyBytes (default 64 KiB), checked
//     against Content-Length and while reading — [ErrBodyTooLarge], 413.
//  2. Query parameters: msg_signature, timestamp and nonce present, not
//     repeated — [ErrMissingParams], 400. A '+' in the raw query is kept
//     as '+' (base64), not turned into a space.
//  3. Outer envelope: <xml> with exactly one non-empty <Encrypt> —
//     [ErrMalformed], 400.
//  4. Signature: msg_signature = sha1(sort(token, timestamp, nonce,
//     Encrypt)), compared in constant time — [ErrBadSignature], 403.
//  5. Timestamp within ±Config.Window (default 5 min) of Config.Now, so
//     captured requests cannot be replayed later — [ErrStaleTimestamp],
//     403.
//  6. Decryption (base64, AES-256-CBC, PKCS#7/32, length field) —
//     [ErrDecrypt], 400.
//  7. Receive ID inside the plaintext equals Config.ReceiverID (CorpID,
//     SuiteID or AppID), compared in constant time —
//     [ErrReceiverMismatch], 403.
//  8. Message: the decrypted XML decodes — [ErrMalformed], 400.
//
// The GET URL verification checks the signature (over the echostr), the
// timestamp, the decryption of echostr and the receive ID the same way,
// and answers the decrypted echostr as text/plain, exactly. Official
// Account URL checks (a "signature" parameter and a clear echostr) are
// accepted too; see [Handler.VerifyURL].
//
// Rejected requests get a generic body ("Forbidden", "Bad Request" …)
// that tells an attacker nothing; the precise reason is logged to
// Config.Logger (silent by default). Tokens, keys, signature values and
// message contents are never logged, and the URL (which holds the
// signature) is not logged.
//
// # Delivery
//
// The platform waits 5 s for an answer and retries otherwise, so user code
// never runs on the request goroutine. A verified event is put on a
// bounded queue (Config.QueueSize) without blocking and acknowledged with
// 200 and an empty body; [Handler.Run] consumes the queue and calls
// OnEvent. If the queue is full, or Run has returned, the answer is 503,
// so that the platform retries later instead of the event being lost.
//
// Retries of a callback are delivered once: a hash of each queued
// decrypted message is remembered for Config.DedupTTL (default twice the
// window, so that replays within the window are suppressed too) in a
// bounded cache (Config.DedupSize), and a repeat is acknowledged with 200
// but not queued again.
//
// A KF callback (kf_msg_or_event) carries no message content, only a
// token and the account with new data: pull the data with sync_msg.
//
// # Events
//
// [Event] holds the common header fields (ToUserName, FromUserName,
// CreateTime, MsgType, Event) and the decrypted XML in Raw, with typed
// accessors for kf_msg_or_event, kf_account_auth_change, the Official
// Account kf_create_session, kf_close_session and kf_switch_session
// events, and Official Account user messages. Unknown events are
// delivered too, with their common fields. The XML is decoded by a small
// hand-written parser (the envelope is tiny and fixed; encoding/xml would
// cost more than all the cryptography).
//
// # Key rotation
//
// When the Token or EncodingAESKey changes, set Config.Previous to the old
// pair and Config.RotationEnds to the end of the changeover: until then
// requests made with either pair are accepted.
//
// # Official Accounts
//
// In safe mode (安全模式) Official Account pushes use the same algorithm
// with the AppID as receive ID ("encrypt_type=aes" in the URL): configure
// the Handler as for WeCom with ReceiverID set to the AppID. In plain mode
// (明文模式) set Config.Plain: requests carry "signature" = sha1(sort(token,
// timestamp, nonce)), which does not cover the body, and the body is the
// XML in clear. [Handler.EncryptReply] wraps a passive reply (such as
// transfer_customer_service) for safe mode.
//
// # Testing
//
// [Builder] produces signed, encrypted requests exactly as the platform
// does; the kftest emulator uses it to call applications, and tests can
// drive a Handler with it through net/http/httptest.
package callback
