package kftest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wxkf/kf"
)

// The administrative endpoints: accounts and contact links, servicers,
// customer profiles and the upgrade service, the corp qualification,
// statistics, the knowledge base, temporary media and idconvert. Each
// handler decodes the request into the kf request type, runs its Validate
// (mapping a failure to the platform's errcode, see validationErr) and then
// applies the platform's stateful rules. Choices made where the platform
// documentation is silent are listed in /work/notes/kftest-admin-choices.md
// and in the package doc.

var (
	onlyGET  = []string{http.MethodGet}
	onlyPOST = []string{http.MethodPost}
	getPOST  = []string{http.MethodGet, http.MethodPost}
)

func (s *Server) routesAdmin() {
	// Accounts and contact links (admin_accounts.go).
	s.api(endpoint{path: "/cgi-bin/kf/account/add", methods: onlyPOST, fn: s.accountAdd})
	s.api(endpoint{path: "/cgi-bin/kf/account/del", methods: onlyPOST, fn: s.accountDel})
	s.api(endpoint{path: "/cgi-bin/kf/account/update", methods: onlyPOST, fn: s.accountUpdate})
	s.api(endpoint{path: "/cgi-bin/kf/account/list", methods: getPOST, read: true, fn: s.accountList})
	s.api(endpoint{path: "/cgi-bin/kf/add_contact_way", methods: onlyPOST, fn: s.addContactWay})
	s.api(endpoint{path: "/cgi-bin/idconvert/open_kfid", methods: onlyPOST, read: true, fn: s.idconvertOpenKfID})

	// Servicers (admin_servicers.go).
	s.api(endpoint{path: "/cgi-bin/kf/servicer/add", methods: onlyPOST, fn: s.servicerAdd})
	s.api(endpoint{path: "/cgi-bin/kf/servicer/del", methods: onlyPOST, fn: s.servicerDel})
	s.api(endpoint{path: "/cgi-bin/kf/servicer/list", methods: onlyGET, read: true, fn: s.servicerList})

	// Customers, upgrade service, qualification (admin_customers.go).
	s.api(endpoint{path: "/cgi-bin/kf/customer/batchget", methods: onlyPOST, read: true, fn: s.customerBatchGet})
	s.api(endpoint{path: "/cgi-bin/kf/customer/get_upgrade_service_config", methods: onlyGET, read: true, fn: s.upgradeConfig})
	s.api(endpoint{path: "/cgi-bin/kf/customer/upgrade_service", methods: onlyPOST, fn: s.upgradeService})
	s.api(endpoint{path: "/cgi-bin/kf/customer/cancel_upgrade_service", methods: onlyPOST, fn: s.cancelUpgradeService})
	s.api(endpoint{path: "/cgi-bin/kf/get_corp_qualification", methods: onlyGET, read: true, fn: s.corpQualification})

	// Statistics (admin_stats.go).
	s.api(endpoint{path: "/cgi-bin/kf/get_corp_statistic", methods: onlyPOST, read: true, fn: s.corpStatistic})
	s.api(endpoint{path: "/cgi-bin/kf/get_servicer_statistic", methods: onlyPOST, read: true, fn: s.servicerStatistic})

	// Knowledge base (admin_kb.go).
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/add_group", methods: onlyPOST, fn: s.kbAddGroup})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/del_group", methods: onlyPOST, fn: s.kbDelGroup})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/mod_group", methods: onlyPOST, fn: s.kbModGroup})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/list_group", methods: onlyPOST, read: true, fn: s.kbListGroup})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/add_intent", methods: onlyPOST, fn: s.kbAddIntent})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/del_intent", methods: onlyPOST, fn: s.kbDelIntent})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/mod_intent", methods: onlyPOST, fn: s.kbModIntent})
	s.api(endpoint{path: "/cgi-bin/kf/knowledge/list_intent", methods: onlyPOST, read: true, fn: s.kbListIntent})

	// Temporary media (admin_media.go).
	s.routesMedia()
}

// validationErr maps the *kf.ValidationError of a request's Validate to the
// errcode the platform answers: the code given for the field in byField if
// any; 95000 for open_kfid; 40063 (parameter empty) for a missing value;
// 40058 (invalid parameter) otherwise.
func validationErr(err error, byField map[string]kf.ErrCode) error {
	var ve *kf.ValidationError
	if !errors.As(err, &ve) {
		return apiErr(kf.ErrCodeInvalidParameter, "invalid parameter: %v", err)
	}
	msg := "invalid " + ve.Field + ": " + ve.Reason
	if code, ok := byField[ve.Field]; ok {
		return apiErr(code, "%s", msg)
	}
	switch {
	case ve.Field == "open_kfid":
		return apiErr(kf.ErrCodeInvalidOpenKfID, "%s", msg)
	case isMissing(ve.Reason):
		return apiErr(kf.ErrCodeParameterEmpty, "%s", msg)
	}
	return apiErr(kf.ErrCodeInvalidParameter, "%s", msg)
}

// isMissing reports whether a validation reason says a value is absent.
func isMissing(reason string) bool {
	return reason == "required" || reason == "empty" || strings.HasSuffix(reason, " is empty") ||
		strings.Contains(reason, "both empty") || strings.HasPrefix(reason, "0 ids")
}

// decodeValid decodes the body into req and validates it.
func decodeValid(c *call, req interface{ Validate() error }, byField map[string]kf.ErrCode) error {
	if err := c.decode(req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return validationErr(err, byField)
	}
	return nil
}

// lookupAccount returns the account, 95000 for an empty or over-long id,
// 95004 for an unknown one.
func (st *State) lookupAccount(openKfID string) (*account, error) {
	if openKfID == "" || len(openKfID) > 64 {
		return nil, apiErr(kf.ErrCodeInvalidOpenKfID, "invalid open_kfid")
	}
	acc, ok := st.accounts[openKfID]
	if !ok {
		return nil, apiErr(kf.ErrCodeOpenKfIDNotFound, "open_kfid not exist: %s", openKfID)
	}
	return acc, nil
}

// managedAccount is lookupAccount for calls that change an account or act
// on its sessions: the calling app must manage it (48002 otherwise).
func (st *State) managedAccount(openKfID string) (*account, error) {
	acc, err := st.lookupAccount(openKfID)
	if err != nil {
		return nil, err
	}
	if !acc.managed {
		return nil, apiErr(kf.ErrCodeAPIForbidden, "api forbidden: the app has no manage privilege on kf account %s", openKfID)
	}
	return acc, nil
}

// nonNil returns s, or an empty slice for nil, so that lists encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
