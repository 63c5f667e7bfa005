package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
)

// doctorFlags are the flags of kfctl doctor (the corp id, secret, Token and
// EncodingAESKey are the global flags).
type doctorFlags struct {
	callbackURL string
}

func newDoctorCmd(a *app) *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor [--callback-url URL --token TOKEN --aes-key KEY]",
		Short: "Check the configuration: corp id and secret, API permissions, accounts, callback URL",
		Long: `Check the configuration that most problems come from, and explain each problem
with its fix:

  - the corp id and secret give an access token (40013, 40001, 41004, 60020);
  - the app may call the 微信客服 API (48002, 95017, 95011, 95012);
  - the KF accounts, and whether the app manages them (manage_privilege);
  - the corp's reception quota (get_corp_qualification);
  - with --callback-url, the callback: a real signed and encrypted URL
    verification (GET, as the platform sends it when you save the callback
    settings) with --token and --aes-key, and the echoed plaintext.

Each check prints ✓ or ✗ (! for a warning). The exit code is 1 when a check
failed.`,
		GroupID: groupTools,
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDoctor(cmd, &f)
		},
	}
	cmd.Flags().StringVar(&f.callbackURL, "callback-url", "", "the callback URL to verify (needs --token and --aes-key)")
	return cmd
}

// Check statuses.
const (
	checkOK   = "ok"
	checkFail = "fail"
	checkWarn = "warn"
	checkSkip = "skip"
)

// doctorCheck is the result of one check.
type doctorCheck struct {
	Name    string   `json:"check"`
	Status  string   `json:"status"`
	Detail  string   `json:"detail,omitempty"`
	Lines   []string `json:"lines,omitempty"`
	ErrCode int      `json:"errcode,omitempty"`
	Error   string   `json:"error,omitempty"`
	Meaning string   `json:"meaning,omitempty"`
	Fix     string   `json:"fix,omitempty"`
	Hint    string   `json:"hint,omitempty"` // kfctl doctor's advice for the errcode
}

// doctorHints are kfctl doctor's own advice for the configuration errcodes,
// shown after the errcode's meaning and remedy.
var doctorHints = map[kf.ErrCode]string{
	kf.ErrCodeInvalidCorpID: "the corp id is the 企业ID of 我的企业 → 企业信息 in the WeCom admin console " +
		"(work.weixin.qq.com), \"ww\" followed by 16 characters; check $KF_CORP_ID for stray quotes or spaces.",
	kf.ErrCodeCorpIDMissing: "set --corp-id or $KF_CORP_ID.",
	kf.ErrCodeInvalidCredential: "the secret is not the Secret of an app of this corp: open 应用管理 → your self-built app → Secret " +
		"(it is shown in the WeCom client), and make sure it is not the corp id, the callback Token or the EncodingAESKey. " +
		"Resetting a secret invalidates the old one.",
	kf.ErrCodeSecretMissing: "set --secret or $KF_SECRET to the Secret of the app that calls the 微信客服 API.",
	kf.ErrCodeUntrustedIP: "add this server's public IP address to 应用管理 → your app → 企业可信IP " +
		"(required for apps created after 2022-06-20).",
	kf.ErrCodeAPIForbidden: "in the admin console open 微信客服 → API, add your self-built app to 可调用接口的应用 and " +
		"assign the KF accounts to it (通过API管理微信客服账号). Since 2023-12-01 the built-in 微信客服 secret cannot call " +
		"the API in new corps: use a self-built app's secret.",
	kf.ErrCodeAPISwitchOff: "in the admin console open 微信客服 → API and turn on API access, then grant it to your app.",
	kf.ErrCodeUnionEditionSecret: "this corp uses 微信客服 inside WeCom (企业内部接入): use the Secret of a self-built app " +
		"listed under 微信客服 → API → 可调用接口的应用, not the standalone 微信客服 secret.",
	kf.ErrCodeStandaloneEditionSecret: "this corp uses the standalone 微信客服 (独立版): use its own secret " +
		"(微信客服管理后台 → 开发配置), not a WeCom app's secret.",
	kf.ErrCodeAPISwitchToAgencyApp: "the 微信客服 API is granted to a 代开发 (agency) app: call it with that app's credentials, " +
		"or move the API access back to your app.",
}

var fromIP = regexp.MustCompile(`from ip: ([0-9A-Fa-f.:]+)`)

// doctorAPIError fills a failed check from an error.
func (a *app) doctorAPIError(c *doctorCheck, err error) {
	c.Status = checkFail
	c.Error = a.redact(err.Error())
	var ae *kf.APIError
	if !errors.As(err, &ae) {
		if c.Fix == "" {
			c.Fix = "the API could not be reached: check the network, proxy and DNS, and --base-url " +
				"(default " + kf.DefaultBaseURL + ")."
		}
		return
	}
	if ae.Code == 0 {
		c.Fix = fmt.Sprintf("the API answered HTTP %d: check --base-url (default %s) and any proxy.", ae.HTTPStatus, kf.DefaultBaseURL)
		return
	}
	c.ErrCode = int(ae.Code)
	c.Error = fmt.Sprintf("errcode %d (%s)", int(ae.Code), ae.Code.String())
	c.Meaning = ae.Code.Meaning()
	c.Fix = ae.Code.Remedy()
	c.Hint = doctorHints[ae.Code]
	if ae.Code == kf.ErrCodeUntrustedIP {
		if m := fromIP.FindStringSubmatch(ae.Msg); m != nil {
			c.Hint += " The platform saw this server as " + m[1] + "."
		}
	}
}

func (a *app) runDoctor(cmd *cobra.Command, f *doctorFlags) error {
	ctx := cmd.Context()
	var checks []*doctorCheck
	add := func(name string) *doctorCheck {
		c := &doctorCheck{Name: name, Status: checkOK}
		checks = append(checks, c)
		return c
	}

	// 1. Credentials and the access token.
	tok := add("access token")
	var client *kf.Client
	switch {
	case a.corpID == "":
		tok.Status, tok.ErrCode = checkFail, int(kf.ErrCodeCorpIDMissing)
		tok.Error, tok.Meaning = "no corp id", kf.ErrCodeCorpIDMissing.Meaning()
		tok.Fix, tok.Hint = doctorHints[kf.ErrCodeCorpIDMissing], doctorHints[kf.ErrCodeInvalidCorpID]
	case a.secret == "":
		tok.Status, tok.ErrCode = checkFail, int(kf.ErrCodeSecretMissing)
		tok.Error, tok.Meaning, tok.Fix = "no secret", kf.ErrCodeSecretMissing.Meaning(), doctorHints[kf.ErrCodeSecretMissing]
	default:
		c, err := a.kfClient()
		if err != nil {
			a.doctorAPIError(tok, err)
			tok.Fix = "check --corp-id, --secret and --base-url."
			break
		}
		if _, err := c.Tokens().Token(ctx); err != nil {
			a.doctorAPIError(tok, err)
			break
		}
		client = c
		tok.Detail = fmt.Sprintf("corp %s: the secret gives an access token", a.corpID)
	}

	// 2. Permission to call the KF API, and 3. the accounts.
	perm := add("微信客服 API access")
	accts := add("KF accounts")
	if client == nil {
		perm.Status, perm.Detail = checkSkip, "needs an access token"
		accts.Status, accts.Detail = checkSkip, "needs an access token"
	} else if list, err := client.Accounts.List(ctx, &kf.ListAccountsRequest{Limit: 100}); err != nil {
		a.doctorAPIError(perm, err)
		accts.Status, accts.Detail = checkSkip, "needs API access"
	} else {
		perm.Detail = "the app may call the 微信客服 API (account/list)"
		doctorAccounts(accts, list.Accounts)
	}

	// 4. The reception quota.
	qual := add("reception quota")
	if client == nil {
		qual.Status, qual.Detail = checkSkip, "needs an access token"
	} else if q, err := client.Stats.Qualification(ctx); err != nil {
		a.doctorAPIError(qual, err)
	} else if q.WeChatChannelsBinding {
		qual.Detail = "a 视频号 is bound: the corp may serve any number of customers (verified corp)"
	} else {
		qual.Detail = "no 视频号 bound: KF may serve 100 customers in total if the corp is not verified, " +
			"10 000 if it is (errcode 95003 once used up); verify the corp and bind a 视频号 for no limit"
	}

	// 5. The callback URL.
	cb := add("callback URL")
	a.doctorCallback(ctx, cb, f.callbackURL)

	failed := 0
	for _, c := range checks {
		if c.Status == checkFail {
			failed++
		}
	}
	if a.output == "json" {
		if err := a.jsonDoc(struct {
			OK     bool           `json:"ok"`
			Checks []*doctorCheck `json:"checks"`
		}{failed == 0, checks}); err != nil {
			return err
		}
	} else {
		a.printDoctor(checks)
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", failed, len(checks))
	}
	return nil
}

// doctorAccounts reports the accounts and whether the app manages them.
func doctorAccounts(c *doctorCheck, list []kf.Account) {
	managed := 0
	idWidth, nameWidth := 0, 0
	for _, acc := range list {
		idWidth = max(idWidth, utf8.RuneCountInString(acc.OpenKfID))
		nameWidth = max(nameWidth, utf8.RuneCountInString(acc.Name))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	for _, acc := range list {
		mark := "✓ managed by this app"
		if acc.ManagePrivilege {
			managed++
		} else {
			mark = "✗ not managed by this app (manage_privilege false)"
		}
		c.Lines = append(c.Lines, pad(acc.OpenKfID, idWidth)+"  "+pad(acc.Name, nameWidth)+"  "+mark)
	}
	const assign = "in the admin console, 微信客服 → API → 可调用接口的应用: assign the accounts to this app " +
		"(通过API管理微信客服账号); accounts created through the API belong to the app that created them. " +
		"(组件应用 never get manage_privilege: ignore this if yours is one.)"
	switch {
	case len(list) == 0:
		c.Status = checkWarn
		c.Detail = "the corp has no KF account"
		c.Fix = "create one: kfctl account add --name NAME --avatar FILE, or in the admin console (微信客服 → 创建账号)."
	case managed == 0:
		c.Status = checkFail
		c.Detail = fmt.Sprintf("%d accounts, none managed by this app: it cannot sync or send for them", len(list))
		c.Fix = assign
	case managed < len(list):
		c.Status = checkWarn
		c.Detail = fmt.Sprintf("%d accounts, %d managed by this app", len(list), managed)
		c.Fix = assign
	default:
		c.Detail = fmt.Sprintf("%d accounts, all managed by this app", len(list))
	}
}

// doctorCallback sends a URL verification to the callback URL, signed and
// encrypted as the platform does, and checks the answer.
func (a *app) doctorCallback(ctx context.Context, c *doctorCheck, rawURL string) {
	if rawURL == "" {
		c.Status, c.Detail = checkSkip, "not checked: give --callback-url with --token and --aes-key"
		return
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Status, c.Error = checkFail, fmt.Sprintf("%q is not an http(s) URL", rawURL)
		c.Fix = "give the URL exactly as in the callback settings (微信客服 → API → 回调配置), for example https://example.com/kf/callback."
		return
	}
	c.Detail = rawURL
	switch {
	case a.token == "" || a.aesKey == "":
		c.Status, c.Error = checkFail, "no --token or --aes-key"
		c.Fix = "give the Token and EncodingAESKey of the callback settings (--token, --aes-key or $KF_TOKEN, $KF_AES_KEY)."
		return
	case a.corpID == "":
		c.Status, c.Error = checkFail, "no corp id"
		c.Fix = "the callback is encrypted for the corp id: set --corp-id or $KF_CORP_ID."
		return
	}
	b, err := callback.NewBuilder(a.token, a.aesKey, a.corpID)
	if err != nil {
		c.Status, c.Error = checkFail, a.redact(err.Error())
		c.Fix = "the Token is 1 to 32 letters and digits and the EncodingAESKey 43 characters, as generated by the console (随机获取)."
		return
	}
	echo := "kfctl-doctor-" + randomAlnum(16)
	q, err := b.VerifyURL(echo, time.Now())
	if err != nil {
		c.Status, c.Error = checkFail, err.Error()
		return
	}
	req, err := b.NewRequest(ctx, rawURL, q, nil)
	if err != nil {
		c.Status, c.Error = checkFail, err.Error()
		return
	}
	req.Header.Set("User-Agent", "kfctl-doctor/"+version())
	timeout := a.timeout
	if timeout <= 0 || timeout > 10*time.Second {
		timeout = 10 * time.Second // the platform waits a few seconds at most
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		c.Status, c.Error = checkFail, a.redact(err.Error())
		c.Fix = "the URL cannot be reached from here. The platform calls it from the internet: it must resolve publicly, " +
			"listen on port 80 or 443 (https recommended), and answer within a few seconds."
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		c.Status, c.Error = checkFail, "HTTP "+strconv.Itoa(resp.StatusCode)
		switch {
		case resp.StatusCode == http.StatusForbidden:
			c.Fix = "the server refused the verification: its Token, EncodingAESKey or corp id (receive ID) differ from the ones given here, or its clock is wrong (it checks the timestamp)."
		case resp.StatusCode == http.StatusBadRequest:
			c.Fix = "the server could not read the verification: its EncodingAESKey differs from the one given here, or it does not read msg_signature, timestamp, nonce and echostr from the query."
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
			c.Fix = "nothing answers GET on this path: the callback URL must answer the GET verification and the POSTed events on the same path."
		case resp.StatusCode >= 500:
			c.Fix = "the server failed: look at its logs."
		default:
			c.Fix = "the verification must be answered with HTTP 200 and the decrypted echostr."
		}
		return
	}
	got := string(body)
	if got == echo {
		c.Detail = rawURL + " answered the verification (signature, decryption and receive ID checked)"
		return
	}
	c.Status = checkFail
	shown := got
	if !utf8.ValidString(shown) || len(shown) > 80 {
		shown = fmt.Sprintf("%q", truncate(strings.ToValidUTF8(shown, "?"), 80))
	} else {
		shown = strconv.Quote(shown)
	}
	c.Error = "wrong answer: " + shown
	switch {
	case strings.TrimSpace(strings.TrimPrefix(got, "\ufeff")) == echo:
		c.Fix = "the answer carries extra whitespace, a newline or a BOM: write the decrypted echostr exactly, nothing else."
	case strings.Trim(strings.TrimSpace(got), `"`) == echo:
		c.Fix = "the answer is quoted (JSON?): write the decrypted echostr as plain text, without quotes."
	case bytes.Equal(body, []byte(q.Get("echostr"))):
		c.Fix = "the server echoed the encrypted echostr: decrypt it with the EncodingAESKey first and answer the plaintext."
	default:
		c.Fix = "the URL verification must be answered with the decrypted echostr (HTTP 200, text/plain). Check that this URL is served by your callback handler."
	}
}

func (a *app) printDoctor(checks []*doctorCheck) {
	w := a.stdout
	for _, c := range checks {
		mark := map[string]string{checkOK: "✓", checkFail: "✗", checkWarn: "!", checkSkip: "-"}[c.Status]
		line := mark + " " + c.Name
		if c.Detail != "" {
			line += ": " + c.Detail
		}
		fmt.Fprintln(w, line)
		for _, l := range c.Lines {
			fmt.Fprintln(w, "    "+l)
		}
		if c.Error != "" {
			fmt.Fprintln(w, "    error:   "+c.Error)
		}
		if c.Meaning != "" {
			fmt.Fprintln(w, "    meaning: "+c.Meaning)
		}
		if c.Fix != "" {
			fmt.Fprintln(w, "    fix:     "+c.Fix)
		}
		if c.Hint != "" {
			fmt.Fprintln(w, "    hint:    "+c.Hint)
		}
	}
}
