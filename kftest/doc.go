// Package kftest is a stateful emulator of WeChat Customer Service (WeCom
// 微信客服): it serves the platform's HTTP API with the platform's rules
// (sessions and their states, send windows and budgets, event codes, the
// sync log, callbacks, errcodes), so that bots and tools can be developed
// and tested without a verified corp, a public callback URL or a phone.
// Drivers play the WeChat customer and the servicers; a control API under
// /_kftest/ exposes them over HTTP.
//
// # In tests
//
// NewServer starts the emulator on a loopback port and stops it when the
// test ends; Client returns a real *kf.Client already pointed at it:
//
//	s := kftest.NewServer(t,
//		kftest.WithClock(kftest.NewFrozenClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))),
//		kftest.WithSeed(kftest.Seed{
//			Accounts:  []kftest.SeedAccount{{OpenKfID: "wkSupport", Name: "Support", Servicers: []string{"alice"}}},
//			Customers: []kftest.SeedCustomer{{ExternalUserID: "wmCarl", Nickname: "Carl"}},
//		}))
//	c := s.Client(kf.WithClock(s.Clock()))
//
//	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("where is my order?"))
//	// ... the bot under test syncs and answers through c ...
//	got := s.Received("wkSupport", "wmCarl") // what the customer saw
//
// Time rules (20 s codes, 2 min recalls, 10 min tokens, 48 h windows,
// 3 days of history, 7200 s access tokens) follow the emulator's Clock:
// move it with Server.Advance and Server.SetTime instead of sleeping. Handler
// serves the emulator in-process.
//
// # Standalone
//
// New returns an emulator that is not listening; ListenAndServe (or Serve)
// serves it until Close. kfctl emulate and the demo run it this way.
// Options set the corp id and secrets, the callback (WithCallback), seed
// data, the clock, quotas, the random seed and the emulated quirks
// (WithEmptyPageRate, WithTokenlessSyncLimit, WithEndFromOpenStates,
// WithCallbackRetry).
//
// # Drivers
//
// What a WeChat customer does:
//   - AddCustomer adds a WeChat user.
//   - EnterSession opens the chat through a contact link or with a scene
//     (enter_session, with a welcome_code when due).
//   - CustomerSend sends any of the 17 received msgtypes (CustomerText,
//     CustomerMenuClick for a click on a menu item, CustomerImage, ...,
//     CustomerRaw); CustomerRecall recalls one (user_recall_msg).
//
// What a servicer does in the WeCom client:
//   - ServicerAccept, ServicerTransfer, ServicerEnd (session_status_change
//     with change_type 1, 2, 3; msg_code for 1 and 3).
//   - ServicerSend sends a message (origin 5); in an ended or transferred
//     session it first re-engages it (change_type 4). ServicerRecall.
//   - SetServicerStatus (servicer_status_change in every account the member
//     serves) and ServicerRejectCustomer (reject_customer_msg_switch_change).
//
// SendFailed logs a msg_send_fail for a message sent through the API.
// AssignAccounts posts a kf_account_auth_change callback.
//
// Every driver is atomic; those that log a message or event append it to
// the account's sync log, post a callback (with WithCallback) and wake the
// live viewers. Driver errors wrap ErrNotFound, ErrNotAllowed or ErrInvalid.
//
// Inspection: Received (the customer's view), SessionInfo (state, servicer,
// remaining send budget, end of the 48 h window), Conversation (the whole
// ordered exchange with who sent each message), SyncLog (what sync_msg
// serves), Calls (requests per endpoint), CallbackStats, TokenCount.
//
// # Callbacks
//
// With WithCallback every append to an account's sync log posts a
// kf_msg_or_event callback to the URL: the plaintext (ToUserName = corp id,
// CreateTime, MsgType event, Event kf_msg_or_event, Token, OpenKfId)
// encrypted with the EncodingAESKey for the corp id and signed with the
// Token, in <xml><ToUserName/><Encrypt/><AgentID/></xml>, with
// msg_signature, timestamp and nonce in the query. The Token of the callback
// is a sync_msg token valid 10 minutes for that account. Delivery is
// asynchronous and in order per account; without HTTP 200 within 5 s
// (WithCallbackRetry) the callback is posted again, 3 attempts in all.
// Timestamps and CreateTime come from the emulator's clock: a receiver that
// checks a timestamp window should use the same clock (Server.Clock
// satisfies kf.Clock). VerifyCallbackURL performs the GET URL verification
// with an encrypted echostr. SyncToken issues a token without a callback.
//
// # Control API
//
// The control API takes and returns JSON, needs no access_token, and
// answers errors as {"error": "..."} with HTTP 400 (bad request), 404
// (unknown account, customer, servicer or message), 409 (not possible in
// the current state) or 413 (body over 1 MiB).
//
//	POST /_kftest/customers          {external_userid?, nickname?, avatar?, gender?, unionid?} → {external_userid}
//	GET  /_kftest/state              → {corp_id, accounts: [{open_kfid, name, servicers: [userid]}],
//	                                    customers: [{external_userid, nickname}],
//	                                    members: [{userid, activated, status, stop_type}], now, callback?}
//	POST /_kftest/enter              {open_kfid, external_userid, scene?, scene_param?, link?, wechat_channels?} → {welcome_code}
//	POST /_kftest/customer/send      {open_kfid, external_userid, msgtype, <msgtype>: {...}} → {msgid}
//	                                 (a text with menu_id is a menu click)
//	POST /_kftest/customer/recall    {open_kfid, external_userid, msgid}
//	POST /_kftest/servicer/accept    {open_kfid, external_userid, servicer_userid} → {msg_code}
//	POST /_kftest/servicer/transfer  {open_kfid, external_userid, to_servicer_userid}
//	POST /_kftest/servicer/end       {open_kfid, external_userid} → {msg_code}
//	POST /_kftest/servicer/send      {open_kfid, external_userid, servicer_userid, msgtype, <msgtype>: {...}} → {msgid}
//	POST /_kftest/servicer/recall    {open_kfid, external_userid, servicer_userid, msgid}
//	POST /_kftest/servicer/status    {servicer_userid, status (0 receiving, 1 stopped), stop_type (0 stopped, 1 suspended)}
//	POST /_kftest/servicer/reject    {open_kfid, external_userid, servicer_userid, reject}
//	POST /_kftest/send_failed        {open_kfid, external_userid, msgid, fail_type}
//	GET  /_kftest/conversation?open_kfid=&external_userid=  → Conversation
//	GET  /_kftest/synclog?open_kfid= → {msg_list: [...]}
//	POST /_kftest/sync_token         {open_kfid} → {token}
//	GET  /_kftest/events             text/event-stream: "event: update" / "data: {}" after every change,
//	                                 a comment line every 15 s
//	POST /_kftest/clock              {advance_seconds? | set_unix?} → {now, now_unix}
//	POST /_kftest/faults             {path, n, errcode? | http_status? | drop? | drop_after?, delay_ms?}
//	POST /_kftest/faults/clear
//	POST /_kftest/error_rate         {rate, faults: [{errcode?, http_status?, drop?, drop_after?, delay_ms?}]}
//	POST /_kftest/tokens/revoke
//	GET  /_kftest/calls              → {path: count}
//
// Successful calls without a result answer {}.
//
// # Faults
//
// FailNext makes the next calls of an endpoint fail with an errcode, an
// HTTP status, a dropped connection (before or after the call is applied)
// or a delay; SetErrorRate makes a share of all calls fail (soak tests).
//
// # Deviations and choices
//
// Where the documentation is silent or unconfirmed, the emulator behaves as
// follows (shared/api-surface.md §9 lists the open questions).
//
// Sessions and service_state:
//   - Ending a session through service_state/trans from states 0, 1 and 2
//     is allowed (the flow chart is unconfirmed); WithEndFromOpenStates(false)
//     refuses it with 95016.
//   - A move to the servicer who already has the session (3 → 3, same
//     servicer) succeeds and changes nothing.
//   - A missing servicer_userid for state 3, a missing external_userid or
//     an invalid service_state answer 40058.
//   - Sessions do not end by themselves after 48 h without messages: the
//     48 h rule applies to sending (95002). Only servicers, trans and the
//     customer change states.
//   - Entering (enter_session) creates no session and leaves the state at 4.
//   - Only members listed individually as servicers count as servicers of an
//     account (department servicers are not expanded).
//
// send_msg and send_msg_on_event:
//   - The checks run in this order: the request's own validity (empty text
//     44004, text over 2048 bytes 45002, over 10 menu items 95008, unknown
//     menu item type 95009, empty or over-long open_kfid 95000, a msgtype
//     that cannot be sent 40008, anything else 40058), unknown account
//     95004, reused msgid, customer who never wrote to the account 95031,
//     48 h since the customer's last message 95002 (whatever the state),
//     state other than 0 or 1 95018, 5 messages already sent for the
//     customer's last message 95001, media 40007.
//   - 95031 is answered when the customer never sent a message to the
//     account (entering only is not consulting); the errcode table's
//     "95018 also for > 48 h" is not used: > 48 h is always 95002.
//   - A msgid is unique per account: a reused msgid delivers nothing and
//     answers success with the original msgid, for send_msg and
//     send_msg_on_event alike, even when the session no longer allows
//     sending. This makes the client's retries exactly-once. MsgIDs older
//     than 3 days may eventually be forgotten.
//   - media_id must be an uploaded medium of the message's type, less than
//     3 days old; link and miniprogram thumb_media_id any uploaded medium
//     (40007 otherwise).
//   - An invalid, used or expired code, or a queue/accept/end code whose
//     session left the state (or session) that produced it, answers 95007;
//     a msgmenu with a queue or accept code answers 40008. A queue code is
//     issued when a session first enters 2, an accept code when it first
//     enters 3 (trans or ServicerAccept; transfers issue none), an end code
//     at every end. A welcome code is issued at each enter_session while
//     no welcome message was sent in the past 48 h (a code issued but not
//     used does not count as a welcome) and the customer has not written in
//     the past 48 h.
//   - Messages sent with send_msg_on_event do not count toward send_msg's
//     5-message budget: each code allows its one message.
//
// recall_msg:
//   - Any message sent through the API (send_msg or send_msg_on_event) can
//     be recalled within 2 minutes of sending, once. An unknown msgid, a
//     second recall or a late one answer 40058. The message stays in the
//     budget and is marked Recalled in the customer's view.
//   - Customers and servicers recall their own messages within 2 minutes too
//     (unconfirmed for servicers).
//
// sync_msg:
//   - Cursors encode the account and the log position (base64url, well
//     under the 64-byte limit); the same position always yields the same cursor. A
//     cursor of another account, a malformed one or one past the end answer
//     40058; a cursor before the 3-day history restarts at its beginning.
//   - An empty page with has_more = 1 (WithEmptyPageRate) skips no message,
//     but its next_cursor differs from the request's (as if the platform had
//     passed records invisible to the app), so that clients which reject a
//     repeated cursor keep going.
//   - limit 0 means 1000; a limit over 1000 answers 40058 rather than being
//     clamped; voice_format other than 0 or 1 answers 40058.
//   - A token that is unknown, expired (10 min) or of another account
//     answers 95007. Without a token, calls are limited per account to 10
//     per minute by default (WithTokenlessSyncLimit) with 45009; the real
//     limit is undocumented.
//   - History is 3 days: entries exactly 72 h old are no longer served.
//   - Voice media are not converted for voice_format.
//
// Drivers and events:
//   - Customer messages from a rejected customer are still logged; they
//     count as rejected in the statistics.
//   - SetServicerStatus logs servicer_status_change only when the status
//     changes. Its status argument uses servicer/list's 0/1; the event
//     carries 1 receiving / 2 stopped.
//   - ServicerSend requires a customer message within 48 h and a session
//     that is the servicer's, ended, or with another servicer; ServicerEnd
//     and ServicerTransfer require state 3.
//   - Customer messages' media ids are not checked against uploaded media.
//
// Callbacks:
//   - The outer XML carries AgentID 1000001 (whether KF callbacks carry
//     one is unconfirmed). Retries follow a timeout or a non-200 answer at
//     once, without a pause. Each log append posts its own callback (a driver
//     action that logs two entries posts two).
//   - Callbacks queued when the server closes are dropped.
package kftest
