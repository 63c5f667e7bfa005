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
// New returns an emulator that is not listening; ListenAndServe (or Serve,
// or Start, which sets URL before it returns) serves it until Close. kfctl
// emulate and the demo run it this way.
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
//
// # Administration endpoints: choices
//
// Scope: kftest/admin*.go (accounts, contact links, idconvert, servicers,
// customers, upgrade service, qualification, statistics, knowledge base,
// media). "Unconfirmed" follows shared/api-surface.md §0.2. Every item below
// is a choice, not a documented fact; each one is exercised by an
// admin_*_test.go scenario.
//
// Request validation (all endpoints):
//   - Requests are decoded into the kf request types and run through their
//     Validate(). A failure maps to: the field-specific code where one exists
//     (below); 95000 for a missing or over-long open_kfid; 40063 (parameter
//     empty) for a missing value (required field, empty list, empty list
//     item); 40058 otherwise. Bad JSON is 40058 with "Warning: wrong json
//     format." (api.go).
//   - Calls that change an account or act on its sessions (account/del,
//     account/update, servicer/add, servicer/del, customer/upgrade_service,
//     cancel_upgrade_service) on an account the app does not manage (Seed
//     Unmanaged, manage_privilege false) answer 48002. Reads (account/list,
//     servicer/list, add_contact_way, statistics) are allowed. The real code
//     is unconfirmed.
//
// Accounts (§1.4):
//   - account/add: name missing or over 16 characters → 95006; media_id
//     missing → 40063; media_id over 128 bytes, unknown, older than 3 days, or
//     not an *image* → 40007. Names need not be unique.
//   - Quota Quotas.Accounts (default 5000) → 95005. The 95005 text "must
//     keep ≥ 1" (deleting the last account) is not emulated: the last account
//     can be deleted. 95026/95027 are never returned.
//   - account/update: name and media_id both empty → 40063; a new media_id
//     changes the avatar URL.
//   - account/del removes the account's sessions, event codes, callback
//     tokens, sync log and contact links, and the customers' activity with it
//     (so batchget no longer counts it). No event or callback is emitted.
//   - account/list: POST JSON (offset ≥ 0, limit 1..100, 0/absent = 100), POST
//     without a body (first 100), legacy GET without parameters (every
//     account), GET with offset/limit query (limit must be 1..100; a non-
//     number → 40058). Order: creation order (seeded accounts first).
//   - avatar URLs are https://wework.qpic.cn/kftest/<open_kfid>/<n> (not
//     real image URLs).
//
// Contact links (§1.4 add_contact_way):
//   - URL shape: https://work.weixin.qq.com/kf/kfc<15 hex> plus
//     ?enc_scene=ENC<26 alnum> when a scene is given; a link without a scene
//     has no query (so kf.AppendSceneParam refuses it, as documented).
//   - The same account and scene always return the same link (idempotent; the
//     client retries the call).
//   - ResolveContactURL (and EnterSession{Link}) refuse, with
//     ErrInvalidContactURL: unknown link ids, links of deleted accounts,
//     another host/scheme, a changed enc_scene, any query parameter other than
//     enc_scene and scene_param, scene_param on a link without a scene,
//     scene_param over 128 bytes URL-encoded. The platform silently drops
//     enter_session for such links; the emulator reports the error to the
//     driver.
//   - Historic encScene= links are never produced.
//
// idconvert/open_kfid (§1.12):
//   - new_open_kfid = "wp" + 30 hex digits of SHA-256(corp id, open_kfid):
//     stable across runs. An id that already is the provider id of an existing
//     account converts to itself. Unknown ids go to invalid_open_kfid_list. No
//     list-size limit. Other endpoints do not accept the "wp…" ids.
//
// Servicers (§1.5):
//   - Per-call limits (100 users; 20 departments for add, 100 for del) → the
//     whole call fails with 40058.
//   - Per-item results: "success"; "ignored" (errcode 0) for an existing
//     servicer on add, a non-servicer on del, and a repeat within the same
//     call; 60111 for an unknown userid (add and del); 95014 for a member who
//     has not activated WeCom (add only).
//   - Quotas (Quotas.ServicerUsers default 2000, ServicerDepartments
//     default 20) are applied per item: items past the quota get errcode 95005
//     ("servicer count exceed limit N"), earlier items succeed.
//   - Departments: the emulator has no org chart; any positive department id
//     is accepted (no 60123) and department membership never grants anything
//     (see upgrade service).
//   - Removing a servicer leaves the sessions it holds as they are.
//   - servicer/list: users in the order added, then departments as
//     {department_id}. status and stop_type are both present for managed
//     accounts and both absent otherwise.
//
// Customers (§1.7):
//   - batchget: a customer is valid when it entered a session with, or wrote
//     to, any existing account of the corp within 48 h (inclusive: exactly 48
//     h is still valid). Unknown ids and inactive customers are listed in
//     invalid_external_userid; repeated ids are answered once; both lists
//     encode as [].
//   - enter_session_context (need_enter_session_context=1) is the last
//     enter_session of the customer (with any account) if within 48 h,
//     including wechat_channels when the customer came from 视频号.
//   - avatar, gender and unionid are always returned (the emulator plays a
//     self-built app).
//
// Upgrade service (§1.8):
//   - upgrade_service: unknown customer → 40096; customer not active with
//     *this* account within 48 h → 95031; type 1 unknown userid → 60111,
//     userid not in UpgradeMembers → 60011 (department ranges are reported
//     by get_upgrade_service_config but never match, having no org chart);
//     type 2 chat_id not in UpgradeGroupChats → 40058; type other than 1/2 →
//     40058. 95015 is never returned; wording is not length-limited.
//   - A recommendation replaces the session's previous one (session.upgrade;
//     Server.UpgradeRecommendation); a session in state 4 is created if none
//     exists. Nothing is delivered to the customer's view.
//   - cancel_upgrade_service with nothing recommended succeeds (idempotent);
//     unknown customer → 40096.
//   - Statistics: each recommendation counts on the day for the account
//     (upgrade_service_customer_cnt, distinct customers) and, when the session
//     is held by a servicer (state 3), for that servicer (member/groupchat
//     invite counts and distinct customers).
//
// Corp qualification (§1.9):
//   - wechat_channels_binding comes from Seed.WeChatChannelsBinding; there is
//     no reception-quota (95003) enforcement in the admin endpoints.
//
// Statistics (§1.10):
//   - Days are China Standard Time (UTC+8) days; start_time and end_time are
//     floored to 00:00 of their day.
//   - Span over 31 days, end before start, or a start day more than 180 days
//     before today → 40058. open_kfid missing → 95000, unknown → 95004;
//     start/end missing → 40063. The WxJava "omit open_kfid for a corp
//     aggregate" form is not supported.
//   - Days after yesterday are accepted but carry no statistic; a day's
//     numbers appear from 06:00 CST the next day ("call after 06:00"). Every
//     day of the range is listed; statistic is omitted for days with no
//     activity or not yet available.
//   - Corp fields computed: session_cnt (sessions started: 4 → 0),
//     customer_cnt (distinct customers who wrote), customer_msg_cnt,
//     upgrade_service_customer_cnt, msg_rejected_customer_cnt. AI fields are 0
//     / omitted.
//   - Servicer fields computed: session_cnt (sessions the servicer took),
//     customer_cnt, customer_msg_cnt (customer messages while the servicer
//     held the session), the upgrade counts. Without servicer_userid: the
//     aggregate of all servicers (customers counted once), and
//     msg_rejected_customer_cnt of the account; for one servicer
//     msg_rejected_customer_cnt is 0 (not tracked per servicer). reply_rate,
//     first_reply_average_sec and satisfaction rates are omitted; satisfaction
//     counts are 0.
//   - servicer_userid of an unknown member → 60111; of a member without
//     activity → days without statistic.
//
// Knowledge base (§1.11):
//   - Breaking a rule answers 40058 (codes undocumented): duplicate group name
//     (the default "默认分组" included), more than 100 groups (the default one
//     counts), unknown group_id / intent_id (del, mod, list filters,
//     add_intent), deleting or renaming the default group, duplicate question
//     (compared on question.text.content across all groups; similar questions
//     are not checked), more than 200 intents in a group, more than one
//     answer, list limit over 1000, an unparsable cursor.
//   - Group name missing → 40063; over 12 characters → 40058.
//   - add_intent requires exactly one answer (none → 40063) with a text or at
//     least one attachment (40063). No limit on attachments or similar
//     questions.
//   - Attachment media must be live uploads (3 days) of the right type: image
//     → image, video → video, miniprogram thumb_media_id → image; otherwise
//     40007.
//   - mod_intent replaces only the parts it carries (question,
//     similar_questions, answers) and keeps the rest; a request carrying
//     nothing is accepted as a no-op.
//   - del_group deletes the group's intents.
//   - list_group / list_intent: creation order; default limit 500; cursors are
//     opaque ("KBC…"), stable across deletions; next_cursor is "" when
//     has_more is 0. list_intent returns image/video as {name} (the upload's
//     file name) and miniprogram without thumb_media_id. The default group's
//     id is generated like the others.
//
// Media (§1.3):
//   - type missing or not image|voice|video|file → 40005 (不合法的type参数 per the
//     WeCom errcode table; note: the kf constant is named
//     ErrCodeInvalidFileType).
//   - Content ≤ 5 bytes → 40006; image over 2 MiB → 40009; voice over 2 MiB,
//     video over 10 MiB, file over 20 MiB → 45001 (the global table also has
//     40011 for video size; not used). "MB" read as MiB.
//   - Format by the content's first bytes: image JPEG/PNG, voice "#!AMR",
//     video an MP4 ftyp box; otherwise 40004. Voice duration (≤ 60 s) is not
//     checked. File: anything.
//   - Missing "media" part → 40063; part without filename → 40058; body not
//     multipart → 40058. The body is bounded at the type's limit + 1 MiB; over
//     it → the size code above.
//   - The upload body is read before the store is locked; the token is still
//     checked first in the answer.
//   - media_id: "MT" + 40 alphanumerics. Valid while younger than 72 h on the
//     emulator clock; then (or when unknown) media/get answers JSON 40007;
//     media/get without media_id → 40063.
//   - media/get returns the bytes with the upload's Content-Type (or one
//     guessed from the file name / content), Content-Disposition: attachment;
//     filename=… (RFC 2231 for non-ASCII names), and supports HTTP Range
//     (http.ServeContent).
//   - Server.PutMedia stores media with no size/format check (for customer
//     messages and tests).
//
// Deviations noticed (for the package doc):
//   - No org chart: department servicers and department upgrade ranges are
//     stored and listed but never resolved to members.
//   - Provider-scoped ("wp…") open_kfids are only understood by idconvert.
//   - The knowledge base is not consulted by any AI reception (no ai_*
//     statistics).
//
// # Official Account mode
//
// NewOAServer and NewOA emulate the Official Account (公众号) customer
// service API for package mp: accounts and workers, sessions and the wait
// queue, message records, custom messages with the 48 h / 5 message window,
// session events pushed to the callback URL in plain or safe mode, and the
// transfer_customer_service passive reply. Choices:
//
// Scope: kftest/oa.go, oa_state.go, oa_accounts.go, oa_sessions.go,
// oa_messages.go, oa_push.go (the OAServer, a sibling of the WeCom
// Server with its own state and mutex). Facts: shared/api-surface.md §8.
// Every item below is a choice, not a documented fact. Each is exercised by
// a test in kftest/oa_*_test.go.
//
// Defaults:
//   - App id wx0a1b2c3d4e5f6a7b, secret kftestoasecret0000000000000000ab,
//     original id gh_0a1b2c3d4e5f, WeChat ID kftestoa (so accounts are
//     prefix@kftestoa; OAServer.KfAccount(prefix) builds one).
//   - kf_id: sequential from 1001, sent as a string (doc samples); the client
//     decodes either form.
//
// Token (§8.1):
//   - Every /cgi-bin/token fetch makes a new token and retires the previous
//     one (strict rule). Option WithOATokenGrace(d) keeps a retired token
//     valid for d (the OA doc mentions a 5 min overlap for a central server's
//     refresh); default 0.
//   - Answers: missing token 41001; a string that is not a token at all (wrong
//     prefix/length) 40014; a retired or never-issued token 40001 ("invalid
//     credential, access_token is invalid or not latest", the real text); the
//     current token after 7200 s 42001.
//   - Fetch errors: grant_type ≠ client_credential 40002; appid missing 41002;
//     wrong appid 40013; secret missing 41004; wrong secret 40125 (not 40001,
//     so that TokenStats.Stale counts only stale access tokens).
//   - TokenStats() counts fetches and each token error; RotateToken()
//     plays "someone else fetched a token".
//
// Replies and errors:
//   - Errors are {"errcode":N,"errmsg":"<text> rid: xxxxxxxx-xxxxxxxx-
//     xxxxxxxx"} (HTTP 200).
//   - Reads whose real replies carry no errcode (token, getkflist,
//     getonlinekflist, getsessionlist, getwaitcase, getmsglist) are sent
//     without errcode/errmsg; writes and getsession carry errcode:0.
//   - Wrong method: GET on a POST endpoint 43002, POST on a GET endpoint
//     43001. Empty body 44002, bad JSON 47001.
//   - WithOACustomerServiceDisabled(): every
//     kfaccount/getkflist/getonlinekflist/kfsession/msgrecord call answers
//     65400 (custom send and typing still work).
//
// Accounts (§8.2):
//   - Form errors (no @, empty prefix, prefix > 10 or outside
//     [A-Za-z0-9_]) → 65404; a suffix other than the OA's WeChat ID → 65401;
//     unknown account (update/del/uploadheadimg/inviteworker/session calls) →
//     65401. Nickname empty or > 16 runes → 65403. Exists → 65406. Limit
//     (default 100, WithOAAccountLimit) → 65405, checked after "exists".
//   - del: POST JSON, or GET ?kf_account= (legacy); a POST without body but
//     with the query works too. Deleting an account ends its sessions and
//     pushes kf_close_session for each.
//   - uploadheadimg: multipart part media, must sniff as JPEG (PNG refused:
//     the doc says "jpg") → else 40005; > 2 MB → 40009; no part / empty →
//     41005; a whole body (other parts included) over 2 MiB + 1 MiB →
//     47001. The URL becomes a fake http://mmbiz.qpic.cn/...; HeadImage()
//     returns the bytes.
//   - inviteworker check order: account (65404/65401) → invite_wx form (6–20
//     of [A-Za-z0-9_-], starting with a letter) else 65409 → account already
//     bound 65412 → the WeChat ID already works an account *of this OA* 65407
//     → the account has a waiting invitation 65411 → this OA has a waiting
//     invitation to that WeChat ID on another account 65408 → the WeChat ID
//     works ≥ 5 kf accounts of *other* OAs (seed ExternalBindings) 65410.
//     Invitations expire after 7 days (status "expired"); rejected/expired
//     invitations no longer block. Driver AcceptInvite binds (kf_wx),
//     RejectInvite rejects.
//   - getkflist shows invite_wx/invite_expire_time/invite_status only while
//     the account is unbound; kf_openid is never sent.
//   - getonlinekflist: bound + online workers only, status always 1 (web),
//     accepted_case = current sessions, auto_accept = the seeded/driver
//     limit.
//
// Sessions and queue (§8.3, §8.6):
//   - A user is known once seeded, added (AddUser) or after their first
//     message; other openids → 40003 (getsession, create, close, custom send,
//     typing).
//   - create: account 65404/65401 → user 40003 → unbound 65402 → offline 65415
//     → same worker already serving → 0 without a new event → another worker
//     serving → 65414 (create does not take users over; close first). Create
//     does not require the user to be waiting (a proactive session); it
//     removes them from the queue if they are. It pushes kf_create_session.
//   - close: 65413 no session (also while merely waiting), 65414 another
//     worker; pushes kf_close_session.
//   - getsession: {createtime:0, kf_account:""} when nobody serves.
//     getsessionlist: unbound → 65402; sorted by createtime then openid.
//   - Queue order: latest_time (the user's latest message, updated while
//     waiting) ascending, then openid.
//   - transfer_customer_service without TransInfo → the user waits; the
//     message that was transferred is kept and delivered to the worker who
//     accepts (chat record 2003 at its original time). While waiting, messages
//     still go to the app; only messages the app transfers again reach the
//     worker.
//   - With TransInfo naming a bound account → a session with that worker at
//     once, even offline or at its limit, with kf_create_session. TransInfo
//     naming an unknown or unbound account → falls back to the queue.
//   - Automatic accept: a worker with AutoAccept > 0 (seed or
//     SetWorkerAutoAccept) that is online takes waiting users while it has
//     fewer sessions than that (earliest user first, least busy worker first);
//     checked when a user starts waiting, a worker goes online, or a session
//     ends/moves. Default 0 = accept by hand (WorkerAccept), so tests are
//     explicit.
//   - Idle sessions: a session without a message either way for 30 min ends by
//     itself and pushes kf_close_session dated at the moment it expired (read
//     from "if the worker has not closed after 30 min, messages return to the
//     developer URL"); WithOASessionIdleTimeout(0) disables it. Expiry is
//     evaluated lazily, on the next API call or driver action.
//   - Worker drivers: WorkerAccept (worker bound + online, user waiting),
//     WorkerTransfer(from, to, openid) (target bound + online) →
//     kf_switch_session, WorkerClose → kf_close_session.
//
// Records (§8.4):
//   - Recorded: user messages delivered to a worker (2003, worker = serving
//     account, including transferred ones at accept time), worker messages
//     (WorkerSend, 2002), and custom sends with customservice.kf_account
//     (2002). User messages handled by the app and plain API sends are not
//     records.
//   - Record ids start at 10000001, global and increasing. getmsglist returns
//     records with starttime ≤ time ≤ endtime (both inclusive) and id ≥ msgid
//     (msgid 0 means 1), at most number; the reply's msgid is the next id
//     to ask for (last id + 1; the request's msgid when empty); number =
//     count returned.
//   - 65416 for: a missing/zero time, endtime < starttime, span > 86400 s
//     (86400 exactly is allowed), msgid < 0, number outside 1..10000. No
//     separate "span too long" code (65417 unconfirmed).
//   - Media appear as [image], [voice], [video] (shortvideo too),
//     [link]; API sends of other types as [news], [msgmenu], … .
//
// Customer-message window (§8.5):
//   - Each user message (re)opens the window: 48 h from that message, 5
//     messages, reset to 5 by every new user message. Outside → 45015; no
//     message left → 45047. API sends and worker messages (WorkerSend) both
//     use it. Menu-click/follow/scan/payment windows are not emulated (no such
//     user events exist here).
//   - Passive replies do not use the window.
//   - Send errors: unknown openid/empty touser 40003; unsendable msgtype
//     40008; news with > 1 article 45008 (0 → 44003); empty text 44004; empty
//     media ids 40007; other shape errors 47001; text over 2048 bytes → 45002
//     (WeCom's limit; OA's unconfirmed); msgmenu with WithOAMsgMenu(false) →
//     40200; unknown customservice.kf_account → 65401 (form → 65404). Refused
//     messages do not use the window. Media ids are not checked against any
//     store.
//   - Typing: same window checks (45015/45047), command other than
//     Typing/CancelTyping → 47001. Typing lasts 15 s, CancelTyping or any sent
//     message ends it; sending Typing again while it lasts is accepted (the
//     "cannot be re-sent" rule is not enforced) and the "worker interacted in
//     the last 30 s" rule is not emulated.
//
// Pushes (§8.6, §8.7):
//   - URL query: signature (sha1 of sorted token/timestamp/nonce),
//     timestamp, nonce (decimal, up to 10 digits), openid; safe mode adds
//     encrypt_type=aes and msg_signature, body
//     <xml><ToUserName>gh_…</ToUserName><Encrypt>…</Encrypt></xml> (no
//     AgentID), receive ID = app id. Compatibility mode (兼容模式) is not
//     emulated. The pushes are built by callback.Builder (OfficialAccount
//     set), like the WeCom callbacks; the Token must therefore be what the
//     platform accepts (at most 32 ASCII letters and digits).
//   - User messages are pushed synchronously by UserSend/UserSendMessage
//     (they need the passive reply); session events are pushed asynchronously,
//     in state-change order, by one goroutine (Flush(ctx) waits for them,
//     Pushes() logs every push). 5 s timeout, 3 attempts, no backoff
//     (WithOACallbackRetry). Without a callback, events are logged with Err
//     "no server URL configured".
//   - Passive replies: empty or success → nothing. Safe mode: only the
//     encrypted envelope is accepted (Encrypt, MsgSignature, TimeStamp, Nonce;
//     signature verified, decrypted for the app id) — a plain reply is
//     refused. The reply must have ToUserName = the user and FromUserName =
//     the original id, else it is refused (the user receives nothing and
//     UserSend returns an error with the decrypted reply). Accepted types:
//     transfer_customer_service, text, image, voice, video, music, news
//     (received by the user; non-text shown as [type]).
//   - Event XML: ToUserName, FromUserName (openid), CreateTime, MsgType
//     event, Event, then KfAccount (create/close) or
//     FromKfAccount/ToKfAccount (switch).
//
// # The chat page
//
// GET / (and /_kftest/chat) serves a page where a person acts as a WeChat
// customer: pick or create a customer, open a chat with an account (also
// through a contact link with a scene), send text and images, click menu
// items, and watch replies and session-state changes arrive live (server-
// sent events from /_kftest/events). A second panel shows the session
// state, the remaining send budget and the account's sync log. The page
// uses these extra routes: GET /_kftest/media/{media_id},
// POST /_kftest/media?type=image (multipart part "media"),
// GET and POST /_kftest/contact_links, POST /_kftest/contact_links/resolve.
package kftest
