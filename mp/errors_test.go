package mp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestErrCodeNames checks that every named constant is in the catalogue
// under the name it carries, so that String() and the Go name agree.
func TestErrCodeNames(t *testing.T) {
	t.Parallel()
	codes := map[string]ErrCode{
		"SystemBusy": ErrCodeSystemBusy, "OK": ErrCodeOK,
		"InvalidCredential": ErrCodeInvalidCredential, "InvalidUserID": ErrCodeInvalidUserID,
		"InvalidAccessToken": ErrCodeInvalidAccessToken, "InvalidAccountType": ErrCodeInvalidAccountType,
		"AccessTokenMissing": ErrCodeAccessTokenMissing, "AccessTokenExpired": ErrCodeAccessTokenExpired,
		"ContentTooLong": ErrCodeContentTooLong, "TooManyArticles": ErrCodeTooManyArticles,
		"FrequencyLimit": ErrCodeFrequencyLimit, "ReplyTimeLimit": ErrCodeReplyTimeLimit,
		"OutOfMessageCount": ErrCodeOutOfMessageCount, "APIUnauthorized": ErrCodeAPIUnauthorized,
		"KfNotEnabled": ErrCodeKfNotEnabled, "InvalidKfAccount": ErrCodeInvalidKfAccount,
		"KfAccountNotBound": ErrCodeKfAccountNotBound, "InvalidKfNickname": ErrCodeInvalidKfNickname,
		"InvalidKfAccountName": ErrCodeInvalidKfAccountName, "KfAccountLimit": ErrCodeKfAccountLimit,
		"KfAccountExists": ErrCodeKfAccountExists, "AlreadyWorker": ErrCodeAlreadyWorker,
		"AlreadyInvited": ErrCodeAlreadyInvited, "InvalidWeChatID": ErrCodeInvalidWeChatID,
		"WorkerBoundTooMany": ErrCodeWorkerBoundTooMany, "InvitationPending": ErrCodeInvitationPending,
		"AccountAlreadyBound": ErrCodeAccountAlreadyBound, "NoSession": ErrCodeNoSession,
		"ServedByAnotherWorker": ErrCodeServedByAnotherWorker, "WorkerOffline": ErrCodeWorkerOffline,
		"InvalidQueryParams": ErrCodeInvalidQueryParams,
	}
	for name, code := range codes {
		if got := code.String(); got != name {
			t.Errorf("ErrCode%s (%d).String() = %q", name, int(code), got)
		}
		if !code.Known() {
			t.Errorf("ErrCode%s (%d) is not in the catalogue", name, int(code))
		}
	}
	// Every customer-service code 65400..65416 has a constant and a remedy.
	for c := ErrCode(65400); c <= 65416; c++ {
		if _, ok := codes[c.String()]; !ok {
			t.Errorf("%d (%s) has no constant", int(c), c)
		}
		if c.Remedy() == "" || c.Meaning() == "" {
			t.Errorf("%d (%s) lacks a meaning or remedy", int(c), c)
		}
	}
}

func TestTokenCodesAreClassified(t *testing.T) {
	t.Parallel()
	for _, c := range []ErrCode{ErrCodeInvalidAccessToken, ErrCodeAccessTokenExpired} {
		if !c.TokenProblem() {
			t.Errorf("%s is not a token problem", c)
		}
	}
	if !ErrCodeFrequencyLimit.RateLimited() || !ErrCodeSystemBusy.Retryable() {
		t.Error("45009 / -1 misclassified")
	}
}

func TestValidationErrorIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", invalid("mp/x", "kf_account", "bad %d", 1))
	if !errors.Is(err, ErrInvalidRequest) {
		t.Error("errors.Is(err, ErrInvalidRequest) = false")
	}
	if got := err.Error(); !strings.Contains(got, "mp/x: invalid kf_account: bad 1") {
		t.Errorf("Error() = %q", got)
	}
}

// TestEveryEndpointReportsAPIErrors is the generic failure path: every
// endpoint turns an errcode reply into an *APIError naming its operation.
func TestEveryEndpointReportsAPIErrors(t *testing.T) {
	t.Parallel()
	type call func(c *Client) error
	tests := []struct {
		path, op string
		call     call
	}{
		{pathAccountAdd, opAccountAdd, func(c *Client) error {
			return c.Accounts.Add(t.Context(), &AddAccountRequest{KfAccount: "a@gh", Nickname: "n"})
		}},
		{pathAccountUpdate, opAccountUpdate, func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{KfAccount: "a@gh", Nickname: "n"})
		}},
		{pathAccountDel, opAccountDel, func(c *Client) error {
			return c.Accounts.Delete(t.Context(), &DeleteAccountRequest{KfAccount: "a@gh"})
		}},
		{pathAccountDel, opAccountDel, func(c *Client) error { return c.Accounts.DeleteLegacy(t.Context(), "a@gh") }},
		{pathAccountHeadImg, opAccountHeadImg, func(c *Client) error {
			return c.Accounts.UploadHeadImage(t.Context(), &UploadHeadImageRequest{KfAccount: "a@gh", Body: strings.NewReader("img")})
		}},
		{pathAccountInvite, opAccountInvite, func(c *Client) error {
			return c.Accounts.InviteWorker(t.Context(), &InviteWorkerRequest{KfAccount: "a@gh", InviteWx: "w"})
		}},
		{pathAccountList, opAccountList, func(c *Client) error { _, err := c.Accounts.List(t.Context()); return err }},
		{pathAccountOnline, opAccountOnline, func(c *Client) error { _, err := c.Accounts.ListOnline(t.Context()); return err }},
		{pathSessionCreate, opSessionCreate, func(c *Client) error {
			return c.Sessions.Create(t.Context(), &CreateSessionRequest{KfAccount: "a@gh", OpenID: "u"})
		}},
		{pathSessionClose, opSessionClose, func(c *Client) error {
			return c.Sessions.Close(t.Context(), &CloseSessionRequest{KfAccount: "a@gh", OpenID: "u"})
		}},
		{pathSessionGet, opSessionGet, func(c *Client) error { _, err := c.Sessions.Get(t.Context(), "u"); return err }},
		{pathSessionList, opSessionList, func(c *Client) error { _, err := c.Sessions.List(t.Context(), "a@gh"); return err }},
		{pathSessionWaiting, opSessionWaiting, func(c *Client) error { _, err := c.Sessions.ListWaiting(t.Context()); return err }},
		{pathRecordList, opRecordList, func(c *Client) error {
			_, err := c.Records.List(t.Context(), &ListRecordsRequest{StartTime: 1, EndTime: 2, Number: 1})
			return err
		}},
		{pathSend, opSend, func(c *Client) error {
			return c.Messages.Send(t.Context(), &SendMessageRequest{ToUser: "u", Msg: TextMsg("hi")})
		}},
		{pathTyping, opTyping, func(c *Client) error { return c.Messages.Typing(t.Context(), "u") }},
		{pathTyping, opTyping, func(c *Client) error { return c.Messages.CancelTyping(t.Context(), "u") }},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc(tc.path, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				writeJSON(w, errcodeReply(ErrCodeKfNotEnabled))
			})
			err := tc.call(c)
			wantAPIError(t, err, tc.op, ErrCodeKfNotEnabled)
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
