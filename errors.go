package kf

import (
	"errors"
	"fmt"

	"github.com/wxkf/kf/internal/wxapi"
)

// ErrCode is a platform errcode. Match it with errors.Is:
//
//	if errors.Is(err, kf.ErrCodeSessionStatusInvalid) { ... }
//
// Its methods classify the code (Retryable, RateLimited, TokenProblem,
// ConfigProblem) and explain it (String, Meaning, Remedy).
type ErrCode = wxapi.ErrCode

// APIError is a reply with a non-zero errcode (or a non-200 HTTP status).
// Get it with errors.As.
type APIError = wxapi.APIError

// RateLimitError wraps the *APIError of a frequency (45009) or concurrency
// (45033) limit, with the earliest sensible time to try again. The client
// never retries it by itself.
type RateLimitError = wxapi.RateLimitError

// TransportError is a network failure of one attempt (wrapped with the
// operation name; the URL inside never carries the access_token).
type TransportError = wxapi.TransportError

// DecodeError is a reply that could not be decoded.
type DecodeError = wxapi.DecodeError

// ErrOutcomeUnknown is wrapped into the error of a write that failed after the
// request may have reached the platform and that was not retried because a
// retry could apply it twice.
var ErrOutcomeUnknown = wxapi.ErrOutcomeUnknown

// ErrInvalidRequest is matched (errors.Is) by every *ValidationError.
var ErrInvalidRequest = errors.New("invalid request")

// ValidationError reports a request that breaks a documented limit. It is
// returned before anything is sent.
type ValidationError struct {
	Op     string // operation, e.g. "kf/send_msg"
	Field  string // JSON field path, e.g. "text.content"
	Reason string // what is wrong, e.g. "longer than 2048 bytes"
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: invalid %s: %s", e.Op, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidRequest) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

func invalid(op, field, format string, args ...any) error {
	return &ValidationError{Op: op, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Error codes of the WeCom 微信客服 API (shared/api-surface.md §6) and of the
// WXBizMsgCrypt libraries (§5.6).
const (
	ErrCodeSystemBusy                    ErrCode = -1
	ErrCodeOK                            ErrCode = 0
	ErrCodeInvalidCredential             ErrCode = 40001
	ErrCodeInvalidUserID                 ErrCode = 40003
	ErrCodeInvalidMediaType              ErrCode = 40004
	ErrCodeInvalidFileType               ErrCode = 40005
	ErrCodeInvalidFileSize               ErrCode = 40006
	ErrCodeInvalidMediaID                ErrCode = 40007
	ErrCodeInvalidMsgType                ErrCode = 40008
	ErrCodeInvalidImageSize              ErrCode = 40009
	ErrCodeInvalidCorpID                 ErrCode = 40013
	ErrCodeInvalidAccessToken            ErrCode = 40014
	ErrCodeInvalidParameter              ErrCode = 40058
	ErrCodeParameterEmpty                ErrCode = 40063
	ErrCodeInvalidExternalUserID         ErrCode = 40096
	ErrCodeContentSecurity               ErrCode = 40201
	ErrCodeAccessTokenMissing            ErrCode = 41001
	ErrCodeCorpIDMissing                 ErrCode = 41002
	ErrCodeSecretMissing                 ErrCode = 41004
	ErrCodeAccessTokenExpired            ErrCode = 42001
	ErrCodeEmptyContent                  ErrCode = 44004
	ErrCodeMediaTooLarge                 ErrCode = 45001
	ErrCodeContentTooLong                ErrCode = 45002
	ErrCodeFrequencyLimit                ErrCode = 45009
	ErrCodeConcurrencyLimit              ErrCode = 45033
	ErrCodeAPIForbidden                  ErrCode = 48002
	ErrCodeNoPrivilege                   ErrCode = 60011
	ErrCodeUntrustedIP                   ErrCode = 60020
	ErrCodeUserIDNotFound                ErrCode = 60111
	ErrCodeInvalidDepartmentID           ErrCode = 60123
	ErrCodeAllIDsInvalid                 ErrCode = 81013
	ErrCodeAllIDsEmpty                   ErrCode = 82001
	ErrCodeInvalidOpenKfID               ErrCode = 95000
	ErrCodeSendCountLimit                ErrCode = 95001
	ErrCodeSendTimeLimit                 ErrCode = 95002
	ErrCodeReceptionQuotaLimit           ErrCode = 95003
	ErrCodeOpenKfIDNotFound              ErrCode = 95004
	ErrCodeAccountCountLimit             ErrCode = 95005
	ErrCodeInvalidAccountName            ErrCode = 95006
	ErrCodeInvalidMsgToken               ErrCode = 95007
	ErrCodeMenuItemLimit                 ErrCode = 95008
	ErrCodeInvalidMenuItemType           ErrCode = 95009
	ErrCodeUnionEditionSecret            ErrCode = 95011
	ErrCodeStandaloneEditionSecret       ErrCode = 95012
	ErrCodeSessionEnded                  ErrCode = 95013
	ErrCodeNotServicer                   ErrCode = 95014
	ErrCodeUpgradeServiceConfigured      ErrCode = 95015
	ErrCodeStateTransitionForbidden      ErrCode = 95016
	ErrCodeAPISwitchOff                  ErrCode = 95017
	ErrCodeSessionStatusInvalid          ErrCode = 95018
	ErrCodeServicerUnavailable           ErrCode = 95019
	ErrCodeInvalidLocationType           ErrCode = 95022
	ErrCodeAPISwitchToAgencyApp          ErrCode = 95023
	ErrCodeAccountUtilisationLow         ErrCode = 95026
	ErrCodeUnverifiedCorpAccountLimit    ErrCode = 95027
	ErrCodeMsgTypeForbidden              ErrCode = 95030
	ErrCodeCustomerNotConsulted          ErrCode = 95031
	ErrCodeComponentLostRecordPermission ErrCode = 95032
	ErrCodeNoMemberPermission            ErrCode = 301002

	ErrCodeCryptoValidateSignature ErrCode = -40001
	ErrCodeCryptoParse             ErrCode = -40002
	ErrCodeCryptoComputeSignature  ErrCode = -40003
	ErrCodeCryptoIllegalAESKey     ErrCode = -40004
	ErrCodeCryptoValidateReceiver  ErrCode = -40005
	ErrCodeCryptoEncryptAES        ErrCode = -40006
	ErrCodeCryptoDecryptAES        ErrCode = -40007
	ErrCodeCryptoIllegalBuffer     ErrCode = -40008
	ErrCodeCryptoEncodeBase64      ErrCode = -40009
	ErrCodeCryptoDecodeBase64      ErrCode = -40010
	ErrCodeCryptoGenerateReply     ErrCode = -40011
)
