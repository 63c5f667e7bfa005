package kf

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCustomers_BatchGet(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/customer/batchget", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"external_userid_list":["wmxxxxxxxxxxxxxxxxxxxxxx","zhangsan"],"need_enter_session_context":1}`)
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"customer_list": [
				{
					"external_userid": "wmxxxxxxxxxxxxxxxxxxxxxx",
					"nickname": "张三",
					"avatar": "http://xxxxx",
					"gender": 1,
					"unionid": "oxasdaosaosdasdasdasd",
					"enter_session_context": {
						"scene": "123",
						"scene_param": "abc",
						"wechat_channels": {"nickname": "进入会话的视频号名称", "scene": 1}
					}
				},
				{"external_userid": "wmyyyy", "nickname": "李四", "gender": 0}
			],
			"invalid_external_userid": ["zhangsan"]
		}`)
	})
	got, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{
		ExternalUserIDs:         []string{"wmxxxxxxxxxxxxxxxxxxxxxx", "zhangsan"},
		NeedEnterSessionContext: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &BatchGetCustomersResponse{
		Customers: []Customer{
			{
				ExternalUserID: "wmxxxxxxxxxxxxxxxxxxxxxx",
				Nickname:       "张三",
				Avatar:         "http://xxxxx",
				Gender:         GenderMale,
				UnionID:        "oxasdaosaosdasdasdasd",
				EnterSessionContext: &EnterSessionContext{
					Scene:          "123",
					SceneParam:     "abc",
					WeChatChannels: &WeChatChannels{Nickname: "进入会话的视频号名称", Scene: WeChatChannelsSceneHome},
				},
			},
			{ExternalUserID: "wmyyyy", Nickname: "李四", Gender: GenderUnknown},
		},
		InvalidExternalUserIDs: []string{"zhangsan"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BatchGet mismatch (-want +got):\n%s", diff)
	}
}

func TestCustomers_BatchGetNoContext(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/customer/batchget", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"external_userid_list":["wm1"]}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","customer_list":[],"invalid_external_userid":[]}`)
	})
	if _, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{ExternalUserIDs: []string{"wm1"}}); err != nil {
		t.Fatal(err)
	}
}

// TestBatchGetCustomersRequest_RoundTrip checks that servers (kftest) decode
// the wire form the client sends.
func TestBatchGetCustomersRequest_RoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []BatchGetCustomersRequest{
		{ExternalUserIDs: []string{"a", "b"}, NeedEnterSessionContext: true},
		{ExternalUserIDs: []string{"a"}},
	} {
		b, err := json.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		var out BatchGetCustomersRequest
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, out); diff != "" {
			t.Errorf("round trip of %s mismatch (-want +got):\n%s", b, diff)
		}
	}
}

func TestCustomers_UpgradeServiceConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, deptKey string
	}{
		{"department_id_list", "department_id_list"},
		{"department_list (doc field table)", "department_list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc("/cgi-bin/kf/customer/get_upgrade_service_config", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "GET")
				testQuery(t, r, url.Values{})
				writeJSON(w, `{
					"errcode": 0, "errmsg": "ok",
					"member_range": {"userid_list": ["zhangsan", "lisi"], "`+tt.deptKey+`": [2, 3]},
					"groupchat_range": {"chat_id_list": ["wraaaaaaaaaaaaaaaa", "wrbbbbbbbbbbbbbbb"]}
				}`)
			})
			got, err := c.Customers.UpgradeServiceConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := &UpgradeServiceConfigResponse{
				MemberRange:    MemberRange{UserIDs: []string{"zhangsan", "lisi"}, DepartmentIDs: []int{2, 3}},
				GroupChatRange: GroupChatRange{ChatIDs: []string{"wraaaaaaaaaaaaaaaa", "wrbbbbbbbbbbbbbbb"}},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("UpgradeServiceConfig mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCustomers_UpgradeService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  *UpgradeServiceRequest
		body string
	}{
		{
			"member",
			MemberUpgrade("kfxxxxxxxxxxxxxx", "wmxxxxxxxxxxxxxxxxxx", "zhangsan", "你好，我是你的专属服务专员zhangsan"),
			`{"open_kfid":"kfxxxxxxxxxxxxxx","external_userid":"wmxxxxxxxxxxxxxxxxxx","type":1,"member":{"userid":"zhangsan","wording":"你好，我是你的专属服务专员zhangsan"}}`,
		},
		{
			"groupchat",
			GroupChatUpgrade("kfxxxxxxxxxxxxxx", "wmxxxxxxxxxxxxxxxxxx", "wraaaaaaaaaaaaaaaa", "欢迎加入你的专属服务群"),
			`{"open_kfid":"kfxxxxxxxxxxxxxx","external_userid":"wmxxxxxxxxxxxxxxxxxx","type":2,"groupchat":{"chat_id":"wraaaaaaaaaaaaaaaa","wording":"欢迎加入你的专属服务群"}}`,
		},
		{
			"no wording",
			MemberUpgrade("kf", "wm", "zhangsan", ""),
			`{"open_kfid":"kf","external_userid":"wm","type":1,"member":{"userid":"zhangsan"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc("/cgi-bin/kf/customer/upgrade_service", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "POST")
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, tt.body)
				writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
			})
			if err := c.Customers.UpgradeService(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCustomers_CancelUpgradeService(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/customer/cancel_upgrade_service", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"kfxxxxxxxxxxxxxx","external_userid":"wmxxxxxxxxxxxxxxxxxx"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	err := c.Customers.CancelUpgradeService(t.Context(), &CancelUpgradeServiceRequest{OpenKfID: "kfxxxxxxxxxxxxxx", ExternalUserID: "wmxxxxxxxxxxxxxxxxxx"})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCustomers_Validation(t *testing.T) {
	t.Parallel()
	ids := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "wm" + strconv.Itoa(i)
		}
		return s
	}
	const upgrade = "/cgi-bin/kf/customer/upgrade_service"
	member := func(m func(r *UpgradeServiceRequest)) func(*Client) error {
		return func(c *Client) error {
			r := MemberUpgrade("kf", "wm", "zhangsan", "hi")
			m(r)
			return c.Customers.UpgradeService(t.Context(), r)
		}
	}
	tests := []struct {
		name  string
		path  string
		call  func(*Client) error
		field string
	}{
		{"batchget nil", "/cgi-bin/kf/customer/batchget", func(c *Client) error { _, err := c.Customers.BatchGet(t.Context(), nil); return err }, "request"},
		{"batchget none", "/cgi-bin/kf/customer/batchget", func(c *Client) error {
			_, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{})
			return err
		}, "external_userid_list"},
		{"batchget 101", "/cgi-bin/kf/customer/batchget", func(c *Client) error {
			_, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{ExternalUserIDs: ids(101)})
			return err
		}, "external_userid_list"},
		{"batchget empty id", "/cgi-bin/kf/customer/batchget", func(c *Client) error {
			_, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{ExternalUserIDs: []string{"wm", ""}})
			return err
		}, "external_userid_list"},
		{"upgrade nil", upgrade, func(c *Client) error { return c.Customers.UpgradeService(t.Context(), nil) }, "request"},
		{"upgrade no account", upgrade, member(func(r *UpgradeServiceRequest) { r.OpenKfID = "" }), "open_kfid"},
		{"upgrade account too long", upgrade, member(func(r *UpgradeServiceRequest) { r.OpenKfID = strings.Repeat("k", 65) }), "open_kfid"},
		{"upgrade no customer", upgrade, member(func(r *UpgradeServiceRequest) { r.ExternalUserID = "" }), "external_userid"},
		{"upgrade type 0", upgrade, member(func(r *UpgradeServiceRequest) { r.Type = 0 }), "type"},
		{"upgrade type 3", upgrade, member(func(r *UpgradeServiceRequest) { r.Type = 3 }), "type"},
		{"upgrade member without member", upgrade, member(func(r *UpgradeServiceRequest) { r.Member = nil }), "member.userid"},
		{"upgrade member without userid", upgrade, member(func(r *UpgradeServiceRequest) { r.Member.UserID = "" }), "member.userid"},
		{"upgrade member with groupchat", upgrade, member(func(r *UpgradeServiceRequest) { r.GroupChat = &UpgradeGroupChat{ChatID: "wr"} }), "groupchat"},
		{"upgrade groupchat with member", upgrade, member(func(r *UpgradeServiceRequest) {
			r.Type, r.GroupChat = UpgradeTypeGroupChat, &UpgradeGroupChat{ChatID: "wr"}
		}), "member"},
		{"upgrade groupchat without chat id", upgrade, member(func(r *UpgradeServiceRequest) {
			r.Type, r.Member, r.GroupChat = UpgradeTypeGroupChat, nil, &UpgradeGroupChat{}
		}), "groupchat.chat_id"},
		{"upgrade groupchat without groupchat", upgrade, member(func(r *UpgradeServiceRequest) {
			r.Type, r.Member = UpgradeTypeGroupChat, nil
		}), "groupchat.chat_id"},
		{"cancel nil", "/cgi-bin/kf/customer/cancel_upgrade_service", func(c *Client) error {
			return c.Customers.CancelUpgradeService(t.Context(), nil)
		}, "request"},
		{"cancel no account", "/cgi-bin/kf/customer/cancel_upgrade_service", func(c *Client) error {
			return c.Customers.CancelUpgradeService(t.Context(), &CancelUpgradeServiceRequest{ExternalUserID: "wm"})
		}, "open_kfid"},
		{"cancel no customer", "/cgi-bin/kf/customer/cancel_upgrade_service", func(c *Client) error {
			return c.Customers.CancelUpgradeService(t.Context(), &CancelUpgradeServiceRequest{OpenKfID: "kf"})
		}, "external_userid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, tt.path)
			wantInvalidField(t, tt.call(c), tt.field)
		})
	}
}

// TestCustomers_BatchGetLimit checks that 100 ids are accepted.
func TestCustomers_BatchGetLimit(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/customer/batchget", func(w http.ResponseWriter, r *http.Request) {
		var req BatchGetCustomersRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.ExternalUserIDs) != 100 {
			t.Errorf("got %d ids (err %v), want 100", len(req.ExternalUserIDs), err)
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok","customer_list":[]}`)
	})
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = "wm" + strconv.Itoa(i)
	}
	if _, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{ExternalUserIDs: ids}); err != nil {
		t.Fatal(err)
	}
}

func TestCustomers_APIError(t *testing.T) {
	t.Parallel()
	t.Run("batchget", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/customer/batchget", "kf/customer/batchget", ErrCodeInvalidExternalUserID, func() error {
			_, err := c.Customers.BatchGet(t.Context(), &BatchGetCustomersRequest{ExternalUserIDs: []string{"wm"}})
			return err
		})
	})
	t.Run("config", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/customer/get_upgrade_service_config", "kf/customer/get_upgrade_service_config", ErrCodeAPIForbidden, func() error {
			_, err := c.Customers.UpgradeServiceConfig(t.Context())
			return err
		})
	})
	t.Run("upgrade", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/customer/upgrade_service", "kf/customer/upgrade_service", ErrCodeUpgradeServiceConfigured, func() error {
			return c.Customers.UpgradeService(t.Context(), GroupChatUpgrade("kf", "wm", "wr", ""))
		})
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/customer/cancel_upgrade_service", "kf/customer/cancel_upgrade_service", ErrCodeCustomerNotConsulted, func() error {
			return c.Customers.CancelUpgradeService(t.Context(), &CancelUpgradeServiceRequest{OpenKfID: "kf", ExternalUserID: "wm"})
		})
	})
}

func TestCustomerEnumStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{GenderUnknown.String(), "unknown"},
		{GenderMale.String(), "male"},
		{GenderFemale.String(), "female"},
		{Gender(3).String(), "Gender(3)"},
		{UpgradeTypeMember.String(), "member"},
		{UpgradeTypeGroupChat.String(), "groupchat"},
		{UpgradeType(0).String(), "UpgradeType(0)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
