package callback

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// Builder builds signed (and, in safe mode, encrypted) callback requests
// exactly as the platform sends them. The tests of this package and the
// kftest emulator use it, so that the code producing callbacks is the
// code the Handler is tested against.
//
// A Builder is safe for concurrent use if Rand is.
type Builder struct {
	// Rand supplies the nonces and the random prefixes of ciphertexts
	// (default crypto/rand). Inject a deterministic reader for
	// reproducible output.
	Rand io.Reader
	// ToUserName is the outer envelope's ToUserName (default: the
	// receive ID). Official Accounts put their original ID (gh_…) there.
	ToUserName string
	// AgentID, if set, is added to the outer envelope, as WeCom does for
	// app callbacks.
	AgentID string
	// OfficialAccount makes safe-mode requests look like an Official
	// Account's: Event adds "encrypt_type=aes" and the plain-mode
	// "signature" (over token, timestamp and nonce) next to msg_signature,
	// and VerifyURL builds the plain URL check, which Official Accounts
	// never encrypt. Plain-mode requests are the same either way.
	OfficialAccount bool

	token      string
	receiverID string
	key        wxcrypto.Key // zero in plain mode
}

// NewBuilder returns a Builder for the given credentials and receive ID
// (CorpID, SuiteID or AppID). With an empty encodingAESKey it builds
// plain-mode (Official Account 明文模式) requests: a "signature" parameter
// over the token, timestamp and nonce, and the XML in clear.
func NewBuilder(token, encodingAESKey, receiverID string) (*Builder, error) {
	if err := validateToken("Token", token); err != nil {
		return nil, err
	}
	b := &Builder{token: token, receiverID: receiverID}
	if encodingAESKey != "" {
		key, err := wxcrypto.ParseKey(encodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("callback: EncodingAESKey: %w", err)
		}
		b.key = key
	}
	return b, nil
}

// Event returns the query (msg_signature, timestamp, nonce; in plain mode
// signature, timestamp, nonce; see also OfficialAccount) and body of a POST
// carrying plainXML, with timestamp ts. In safe mode plainXML is encrypted
// for the receive ID and wrapped in the outer envelope; in plain mode the
// body is plainXML.
func (b *Builder) Event(plainXML []byte, ts time.Time) (url.Values, []byte, error) {
	timestamp := strconv.FormatInt(ts.Unix(), 10)
	nonce, err := newNonce(b.Rand)
	if err != nil {
		return nil, nil, err
	}
	if !b.key.Valid() {
		q := url.Values{
			"signature": {wxcrypto.Signature(b.token, timestamp, nonce, "")},
			"timestamp": {timestamp},
			"nonce":     {nonce},
		}
		return q, bytes.Clone(plainXML), nil
	}
	enc, err := b.key.Encrypt(b.Rand, plainXML, b.receiverID)
	if err != nil {
		return nil, nil, fmt.Errorf("callback: encrypting event: %w", err)
	}
	to := b.ToUserName
	if to == "" {
		to = b.receiverID
	}
	q := url.Values{
		"msg_signature": {wxcrypto.Signature(b.token, timestamp, nonce, enc)},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
	}
	if b.OfficialAccount {
		q.Set("signature", wxcrypto.Signature(b.token, timestamp, nonce, ""))
		q.Set("encrypt_type", "aes")
	}
	return q, wxcrypto.EncryptedPostBody(to, b.AgentID, enc), nil
}

// KfMsgOrEvent builds a kf_msg_or_event callback for the KF account
// openKfID with the sync_msg token, created (and timestamped) at
// createTime.
func (b *Builder) KfMsgOrEvent(openKfID, token string, createTime time.Time) (url.Values, []byte, error) {
	x := wxcrypto.NewXMLWriter()
	x.CDATA("ToUserName", b.receiverID)
	x.Text("CreateTime", strconv.FormatInt(createTime.Unix(), 10))
	x.CDATA("MsgType", MsgTypeEvent)
	x.CDATA("Event", EventKfMsgOrEvent)
	x.CDATA("Token", token)
	x.CDATA("OpenKfId", openKfID)
	return b.Event(x.Done(), createTime)
}

// KfAccountAuthChange builds a kf_account_auth_change callback with one
// AuthAddOpenKfId element per entry of add and one AuthDelOpenKfId element
// per entry of del, created (and timestamped) at ts.
func (b *Builder) KfAccountAuthChange(add, del []string, ts time.Time) (url.Values, []byte, error) {
	x := wxcrypto.NewXMLWriter()
	x.CDATA("ToUserName", b.receiverID)
	x.CDATA("FromUserName", "sys")
	x.Text("CreateTime", strconv.FormatInt(ts.Unix(), 10))
	x.CDATA("MsgType", MsgTypeEvent)
	x.CDATA("Event", EventKfAccountAuthChange)
	for _, id := range add {
		x.CDATA("AuthAddOpenKfId", id)
	}
	for _, id := range del {
		x.CDATA("AuthDelOpenKfId", id)
	}
	return b.Event(x.Done(), ts)
}

// VerifyURL returns the query of a GET URL verification with timestamp ts
// whose expected answer is echo: msg_signature, timestamp, nonce and the
// encrypted echostr in safe mode; signature, timestamp, nonce and echostr
// = echo in plain mode and with OfficialAccount.
func (b *Builder) VerifyURL(echo string, ts time.Time) (url.Values, error) {
	timestamp := strconv.FormatInt(ts.Unix(), 10)
	nonce, err := newNonce(b.Rand)
	if err != nil {
		return nil, err
	}
	if !b.key.Valid() || b.OfficialAccount {
		return url.Values{
			"signature": {wxcrypto.Signature(b.token, timestamp, nonce, "")},
			"timestamp": {timestamp},
			"nonce":     {nonce},
			"echostr":   {echo},
		}, nil
	}
	enc, err := b.key.Encrypt(b.Rand, []byte(echo), b.receiverID)
	if err != nil {
		return nil, fmt.Errorf("callback: encrypting echostr: %w", err)
	}
	return url.Values{
		"msg_signature": {wxcrypto.Signature(b.token, timestamp, nonce, enc)},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
		"echostr":       {enc},
	}, nil
}

// NewRequest returns a request to baseURL with query added to baseURL's
// own query parameters: a POST with body (Content-Type text/xml) if body
// is non-nil, a GET otherwise. Use it with the results of the other
// methods.
func (b *Builder) NewRequest(ctx context.Context, baseURL string, query url.Values, body []byte) (*http.Request, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("callback: parsing base URL: %w", err)
	}
	q := u.Query()
	for k, vs := range query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	method := http.MethodGet
	var rd io.Reader
	if body != nil {
		method, rd = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("callback: building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	}
	return req, nil
}

// newNonce returns a random decimal nonce of up to 10 digits, like the
// platform's.
func newNonce(r io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(randReader(r), b[:]); err != nil {
		return "", fmt.Errorf("callback: reading random nonce: %w", err)
	}
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:])%1e10, 10), nil
}
