package kftest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// Pushes to the Official Account's server URL (§8.6, §8.7): user messages
// (synchronously, by UserSend, which needs the passive reply) and session
// events (asynchronously, in order, by one goroutine), in plain or safe
// mode, with the platform's timeout and retries.

// OAPush is one push to the server URL, as logged by the emulator.
type OAPush struct {
	OpenID   string
	MsgType  string // "event", or the user message's type
	Event    string // kf_create_session, kf_close_session, kf_switch_session
	Body     []byte // the plaintext XML
	Attempts int    // POSTs made
	Status   int    // HTTP status of the last attempt (0: no answer)
	Err      string // "" when the app answered 200
	Reply    []byte // the app's answer body (raw)
}

type oaPushJob struct {
	openid, msgType, event string
	xml                    []byte
}

type oaPusher struct {
	s       *OAServer
	mu      sync.Mutex
	queue   []oaPushJob
	running bool
	closed  bool
	wg      sync.WaitGroup
	log     []OAPush
}

// pushEvent queues a session event (call with OAServer.mu held, so that
// events are pushed in the order the state changed). kv are element
// name/value pairs after Event.
func (s *OAServer) pushEvent(openid string, at time.Time, event string, kv ...string) {
	x := wxcrypto.NewXMLWriter()
	x.CDATA("ToUserName", s.cfg.originalID)
	x.CDATA("FromUserName", openid)
	x.Text("CreateTime", strconv.FormatInt(at.Unix(), 10))
	x.CDATA("MsgType", "event")
	x.CDATA("Event", event)
	for i := 0; i+1 < len(kv); i += 2 {
		x.CDATA(kv[i], kv[i+1])
	}
	s.push.enqueue(oaPushJob{openid: openid, msgType: "event", event: event, xml: x.Done()})
}

func (p *oaPusher) enqueue(j oaPushJob) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.s.cfg.callback == nil {
		p.log = append(p.log, OAPush{OpenID: j.openid, MsgType: j.msgType, Event: j.event, Body: j.xml, Err: "no server URL configured"})
		return
	}
	p.queue = append(p.queue, j)
	if !p.running {
		p.running = true
		p.wg.Add(1)
		go p.run()
	}
}

func (p *oaPusher) run() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 || p.closed {
			p.running = false
			p.mu.Unlock()
			return
		}
		j := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		p.s.deliver(p.s.closeCtx, j)
	}
}

func (p *oaPusher) close() {
	p.mu.Lock()
	p.closed = true
	p.queue = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// Flush waits until every queued session event has been pushed (or given
// up), or until ctx is done. Do not call it from the app's push handler.
func (s *OAServer) Flush(ctx context.Context) error {
	for {
		s.push.mu.Lock()
		idle := len(s.push.queue) == 0 && !s.push.running
		s.push.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Pushes returns the log of pushes, oldest first (events without a server
// URL are logged with Err set and no attempt).
func (s *OAServer) Pushes() []OAPush {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	return slices.Clone(s.push.log)
}

// deliver POSTs j to the server URL until the app answers 200, at most
// pushAttempts times, each attempt waiting pushTimeout. It logs and returns
// the outcome.
func (s *OAServer) deliver(ctx context.Context, j oaPushJob) OAPush {
	res := OAPush{OpenID: j.openid, MsgType: j.msgType, Event: j.event, Body: j.xml}
	for res.Attempts < s.cfg.pushAttempts {
		if ctx.Err() != nil {
			res.Err = "emulator closed"
			break
		}
		res.Attempts++
		status, body, err := s.post(ctx, j)
		res.Status, res.Reply = status, body
		if err == nil && status == http.StatusOK {
			res.Err = ""
			break
		}
		if err != nil {
			res.Err = err.Error()
		} else {
			res.Err = "HTTP " + strconv.Itoa(status)
		}
	}
	s.push.mu.Lock()
	s.push.log = append(s.push.log, res)
	s.push.mu.Unlock()
	return res
}

// post makes one signed (and in safe mode encrypted) POST, built by
// callback.Builder: signature, timestamp and nonce in the URL (safe mode
// adds encrypt_type=aes and msg_signature, and encrypts the body for the
// app id), plus openid.
func (s *OAServer) post(ctx context.Context, j oaPushJob) (int, []byte, error) {
	q, body, err := s.cb.Event(j.xml, s.clock.Now())
	if err != nil {
		return 0, nil, err
	}
	q.Set("openid", j.openid)
	actx, cancel := context.WithTimeout(ctx, s.cfg.pushTimeout)
	defer cancel()
	req, err := s.cb.NewRequest(actx, s.cfg.callback.URL, q, body)
	if err != nil {
		return 0, nil, err
	}
	// What the Official Account platform sends.
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := s.hc.Do(req)
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			return 0, nil, fmt.Errorf("no answer within %s", s.cfg.pushTimeout)
		}
		return 0, nil, fmt.Errorf("POST failed: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// oaEnvelope is the safe-mode passive reply envelope.
type oaEnvelope struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      string   `xml:"Encrypt"`
	MsgSignature string   `xml:"MsgSignature"`
	TimeStamp    string   `xml:"TimeStamp"`
	Nonce        string   `xml:"Nonce"`
}

// openReply returns the plaintext passive reply: nil for an empty or
// "success" answer; in safe mode the envelope's signature is verified and
// its Encrypt decrypted for the app id.
func (s *OAServer) openReply(body []byte) ([]byte, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || string(t) == "success" {
		return nil, nil
	}
	if !s.key.Valid() {
		return t, nil
	}
	var env oaEnvelope
	if err := xml.Unmarshal(t, &env); err != nil {
		return nil, fmt.Errorf("safe mode: the reply is not an encrypted envelope: %w", err)
	}
	if env.Encrypt == "" || env.MsgSignature == "" || env.TimeStamp == "" || env.Nonce == "" {
		return nil, errors.New("safe mode: the reply lacks Encrypt, MsgSignature, TimeStamp or Nonce (plain replies are refused)")
	}
	if !wxcrypto.VerifySignature(s.cfg.callback.Token, env.TimeStamp, env.Nonce, env.Encrypt, env.MsgSignature) {
		return nil, errors.New("safe mode: bad MsgSignature")
	}
	msg, err := s.key.DecryptFor(env.Encrypt, s.cfg.appID)
	if err != nil {
		return nil, fmt.Errorf("safe mode: %w", err)
	}
	return msg, nil
}

// oaReplyXML is a passive reply.
type oaReplyXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
	TransInfo    *struct {
		KfAccount string `xml:"KfAccount"`
	} `xml:"TransInfo"`
}

// applyReply acts on a passive reply to the user's message (text, at).
func (s *OAServer) applyReply(openid, text string, at time.Time, plain []byte) error {
	var r oaReplyXML
	if err := xml.Unmarshal(plain, &r); err != nil {
		return fmt.Errorf("not a reply XML: %w", err)
	}
	switch {
	case r.ToUserName != openid:
		return fmt.Errorf("ToUserName %q is not the user %q", r.ToUserName, openid)
	case r.FromUserName != s.cfg.originalID:
		return fmt.Errorf("FromUserName %q is not the official account %q", r.FromUserName, s.cfg.originalID)
	}
	switch r.MsgType {
	case "transfer_customer_service":
		target := ""
		if r.TransInfo != nil {
			target = strings.TrimSpace(r.TransInfo.KfAccount)
		}
		s.transfer(openid, text, at, target)
		return nil
	case "text", "image", "voice", "video", "music", "news":
		shown := r.Content
		if r.MsgType != "text" {
			shown = "[" + r.MsgType + "]"
		}
		return s.update(func(st *oaState, now time.Time) error {
			u := st.user(openid)
			u.received = append(u.received, OAMessage{Time: now, Source: OASourceReply, MsgType: r.MsgType, Text: shown, Raw: slices.Clone(plain)})
			return nil
		})
	}
	return fmt.Errorf("unsupported reply MsgType %q", r.MsgType)
}
