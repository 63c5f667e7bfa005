// Package mp is a client for the WeChat Official Account (公众号) customer
// service APIs (客服消息 / 多客服) of api.weixin.qq.com: customer-service
// accounts, sessions between users and human workers, chat records, and
// customer messages.
//
// Create one Client per Official Account and use its services:
//
//	c, err := mp.NewClient(appID, appSecret, mp.WithTokenCache(cache))
//	err = c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: "alice@myoa", OpenID: openID})
//	err = c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: openID, Msg: mp.TextMsg("hello")})
//
// The services follow the platform's documentation areas
// (https://developers.weixin.qq.com/doc/service/api/customer/...): Accounts
// (servicermanage: kfaccount add, update, del, uploadheadimg, inviteworker,
// getkflist, getonlinekflist), Sessions (messctrl: kfsession create, close,
// getsession, getsessionlist, getwaitcase), Records (message/api_getmsglist)
// and Messages (message/api_sendcustommessage and typing). Method comments
// name the endpoint they call.
//
// The package shares its transport, error model and token sources with
// package kf (the WeCom 微信客服 client); it does not import kf. Callback
// events of an Official Account (kf_create_session, kf_close_session,
// kf_switch_session) and the transfer_customer_service passive reply are
// handled by package callback.
//
// # Authentication
//
// The client fetches the access_token from GET /cgi-bin/token
// (grant_type=client_credential) with the app id and AppSecret, keeps it in
// memory and refreshes it five minutes before it expires (expires_in is 7200
// s); within one Client at most one refresh is in flight.
//
// On an Official Account, unlike WeCom, every fetch of a token invalidates
// the previous one. Two instances that each fetch their own token therefore
// break each other: each refresh makes the other instance's token fail with
// 40001. Run several instances only with a shared token:
//
//   - WithTokenCache with a cache shared by every instance (package
//     redisstore has a Redis cache; it is the same TokenCache interface as
//     package kf's, so one store serves both). When the cache also
//     implements TokenLocker, the instance that takes the lock is the only
//     one that fetches; the others wait for the token it stores. Without a
//     locker two instances may still refresh at the same moment.
//   - or WithTokenSource with a source that asks a central token service
//     (中控服务器); the client then never calls /cgi-bin/token.
//
// Do not fetch tokens for the same app anywhere else (another SDK, a
// script, the console's debugging tool): that invalidates the shared token.
// When the platform rejects a token anyway (40001, 40014, 42001) the client
// drops that token (from the cache too, unless a newer one is already
// there), gets a new one and replays the call once; calls in flight during a
// refresh recover the same way. The token and the secret travel in query
// strings; every URL is redacted before it reaches an error or a log line.
//
// # Errors
//
// A reply with a non-zero errcode is an *APIError with the operation, the
// code and the platform's errmsg. ErrCode is a defined type (the same as
// package kf's) with a named constant for every customer-service code;
// match codes with errors.Is:
//
//	err := c.Sessions.Create(ctx, req)
//	switch {
//	case errors.Is(err, mp.ErrCodeWorkerOffline):
//		// 65415: pick an online worker (Accounts.ListOnline)
//	case errors.Is(err, mp.ErrCodeReplyTimeLimit):
//		// 45015: the user has not written in the last 48 h
//	}
//
// ErrCode methods explain the code (Meaning, Remedy) and classify it;
// APIError.Error includes the remedy. Requests that break a documented rule
// (the kf_account form prefix@wechatid, a nickname of 1 to 16 characters, a
// record span over 24 h, a news message with more than one article, ...)
// are refused before anything is sent with a *ValidationError naming the
// field (errors.Is(err, mp.ErrInvalidRequest)).
//
// Network errors, HTTP 5xx and errcode -1 are retried with jittered
// backoff (WithRetry, WithRetryer) when a retry cannot apply a call twice:
// reads, updates, deletes, session create and close. Account creation,
// worker invitations and custom messages are not retried once the request
// may have reached the platform; their error wraps ErrOutcomeUnknown.
//
// # Sessions
//
// A session hands a user to a human worker: while it lasts the user's
// messages go to the worker's customer-service client instead of the
// developer's server. Sessions.Create opens one (the worker must be online:
// ErrCodeWorkerOffline otherwise), Sessions.Close ends it
// (ErrCodeNoSession when there is none, ErrCodeServedByAnotherWorker when
// another worker serves the user), Sessions.Get tells who serves a user,
// Sessions.List lists a worker's sessions and Sessions.ListWaiting reads the
// queue (the count and at most the 100 earliest users). Users can also be
// queued or assigned with the transfer_customer_service passive reply
// (package callback).
//
// # Records
//
// Records.List reads one page of chat records of a span of at most 24 h,
// paged by msgid (at most 10000 records a page). Records.All iterates over
// any span: it splits it into consecutive windows of at most 24 h and
// follows msgid within each window while pages come back full.
//
// # Sending
//
// Messages.Send sends one of the 11 customer-message types, built with
// TextMsg, ImageMsg, VoiceMsg, VideoMsg, MusicMsg, NewsMsg (exactly one
// article), MPNewsMsg, MPNewsArticleMsg, MenuMsg, WxCardMsg and
// MiniProgramPageMsg; SendMessageRequest.KfAccount sends it as a given
// worker. Messages may be sent only in the user's window (5 messages within
// 48 h of a user message; ErrCodeReplyTimeLimit and ErrCodeOutOfMessageCount
// otherwise). The platform does not de-duplicate custom messages, so Send is
// never replayed when its outcome is unknown: a retry could deliver the
// message twice. Messages.Typing and Messages.CancelTyping show and hide the
// "typing…" indicator.
package mp
