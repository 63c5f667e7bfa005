package kf

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKnowledgeAddGroup(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/add_group", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"name":"售前咨询分组一二三四五六"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","group_id":"GROUP_ID"}`)
	})
	// 12 characters (36 bytes) is the maximum.
	got, err := c.Knowledge.AddGroup(t.Context(), &AddGroupRequest{Name: "售前咨询分组一二三四五六"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&AddGroupResponse{GroupID: "GROUP_ID"}, got); diff != "" {
		t.Errorf("AddGroup mismatch (-want +got):\n%s", diff)
	}
}

func TestKnowledgeDeleteGroup(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/kf/knowledge/del_group", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"group_id":"GROUP_ID"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	if err := c.Knowledge.DeleteGroup(t.Context(), &DeleteGroupRequest{GroupID: "GROUP_ID"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestKnowledgeModifyGroup(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/kf/knowledge/mod_group", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"group_id":"GROUP_ID","name":"售后"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	if err := c.Knowledge.ModifyGroup(t.Context(), &ModifyGroupRequest{GroupID: "GROUP_ID", Name: "售后"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestKnowledgeListGroups(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/list_group", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"cursor":"CURSOR","limit":100,"group_id":"GROUP_ID"}`)
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"next_cursor": "NEXT_CURSOR",
			"has_more": 1,
			"group_list": [
				{"group_id": "GROUP_ID", "name": "默认分组", "is_default": 1},
				{"group_id": "GROUP_ID2", "name": "售前", "is_default": 0}
			]
		}`)
	})
	got, err := c.Knowledge.ListGroups(t.Context(), &ListGroupsRequest{Cursor: "CURSOR", Limit: 100, GroupID: "GROUP_ID"})
	if err != nil {
		t.Fatal(err)
	}
	want := &ListGroupsResponse{
		NextCursor: "NEXT_CURSOR",
		HasMore:    true,
		Groups: []Group{
			{GroupID: "GROUP_ID", Name: "默认分组", IsDefault: true},
			{GroupID: "GROUP_ID2", Name: "售前"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListGroups mismatch (-want +got):\n%s", diff)
	}
}

func TestKnowledgeListGroupsNilRequest(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/list_group", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testJSONBody(t, r, `{}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":0,"group_list":[]}`)
	})
	got, err := c.Knowledge.ListGroups(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&ListGroupsResponse{Groups: []Group{}}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// kbAttachmentsJSON is the documented request form of the four attachment
// kinds.
const kbAttachmentsJSON = `[
	{"msgtype":"image","image":{"media_id":"MEDIA_ID"}},
	{"msgtype":"video","video":{"media_id":"MEDIA_ID"}},
	{"msgtype":"link","link":{"title":"TITLE","pic_url":"https://example.com/p.png","desc":"DESC","url":"https://example.com"}},
	{"msgtype":"miniprogram","miniprogram":{"title":"TITLE","thumb_media_id":"MEDIA_ID","appid":"wx123","pagepath":"/path/index.html"}}
]`

func kbAttachments() []IntentAttachment {
	return []IntentAttachment{
		ImageAttachment("MEDIA_ID"),
		VideoAttachment("MEDIA_ID"),
		LinkAttachment(IntentLink{Title: "TITLE", PicURL: "https://example.com/p.png", Desc: "DESC", URL: "https://example.com"}),
		MiniProgramAttachment(IntentMiniProgram{Title: "TITLE", ThumbMediaID: "MEDIA_ID", AppID: "wx123", PagePath: "/path/index.html"}),
	}
}

func TestKnowledgeAddIntent(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/add_intent", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{
			"group_id": "GROUP_ID",
			"question": {"text": {"content": "如何退货"}},
			"similar_questions": {"items": [{"text": {"content": "怎么退货"}}, {"text": {"content": "退货流程"}}]},
			"answers": [{"text": {"content": "请在订单页申请"}, "attachments": `+kbAttachmentsJSON+`}]
		}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","intent_id":"INTENT_ID"}`)
	})
	got, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{
		GroupID:  "GROUP_ID",
		Question: IntentQuestion{Text: IntentText{Content: "如何退货"}},
		SimilarQuestions: IntentSimilarQuestions{Items: []IntentQuestion{
			{Text: IntentText{Content: "怎么退货"}}, {Text: IntentText{Content: "退货流程"}},
		}},
		Answers: []IntentAnswer{{Text: IntentText{Content: "请在订单页申请"}, Attachments: kbAttachments()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&AddIntentResponse{IntentID: "INTENT_ID"}, got); diff != "" {
		t.Errorf("AddIntent mismatch (-want +got):\n%s", diff)
	}
}

func TestKnowledgeAddIntentMinimal(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/add_intent", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		// No similar_questions and no answers: neither key is sent.
		testJSONBody(t, r, `{"group_id":"G","question":{"text":{"content":"Q"}}}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","intent_id":"I"}`)
	})
	got, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G", Question: IntentQuestion{Text: IntentText{Content: "Q"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.IntentID != "I" {
		t.Errorf("IntentID = %q, want I", got.IntentID)
	}
}

func TestKnowledgeDeleteIntent(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/kf/knowledge/del_intent", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"intent_id":"INTENT_ID"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	if err := c.Knowledge.DeleteIntent(t.Context(), &DeleteIntentRequest{IntentID: "INTENT_ID"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestKnowledgeModifyIntent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  *ModifyIntentRequest
		want string
	}{
		{
			name: "all parts",
			req: &ModifyIntentRequest{
				IntentID:         "INTENT_ID",
				Question:         &IntentQuestion{Text: IntentText{Content: "Q2"}},
				SimilarQuestions: &IntentSimilarQuestions{Items: []IntentQuestion{{Text: IntentText{Content: "S"}}}},
				Answers:          []IntentAnswer{{Text: IntentText{Content: "A"}, Attachments: kbAttachments()[:1]}},
			},
			want: `{"intent_id":"INTENT_ID","question":{"text":{"content":"Q2"}},"similar_questions":{"items":[{"text":{"content":"S"}}]},
				"answers":[{"text":{"content":"A"},"attachments":[{"msgtype":"image","image":{"media_id":"MEDIA_ID"}}]}]}`,
		},
		{
			name: "answer only",
			req:  &ModifyIntentRequest{IntentID: "INTENT_ID", Answers: []IntentAnswer{{Text: IntentText{Content: "A"}}}},
			want: `{"intent_id":"INTENT_ID","answers":[{"text":{"content":"A"}}]}`,
		},
		{
			name: "clear similar questions",
			req:  &ModifyIntentRequest{IntentID: "INTENT_ID", SimilarQuestions: &IntentSimilarQuestions{Items: []IntentQuestion{}}},
			want: `{"intent_id":"INTENT_ID","similar_questions":{"items":[]}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/cgi-bin/kf/knowledge/mod_intent", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				testMethod(t, r, "POST")
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, tc.want)
				writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
			})
			if err := c.Knowledge.ModifyIntent(t.Context(), tc.req); err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

func TestKnowledgeListIntents(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/knowledge/list_intent", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"cursor":"CURSOR","limit":1000,"group_id":"GROUP_ID","intent_id":"INTENT_ID"}`)
		// In replies image and video carry a file name, and miniprogram has
		// no thumb_media_id.
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"next_cursor": "NEXT_CURSOR",
			"has_more": 0,
			"intent_list": [
				{
					"group_id": "GROUP_ID",
					"intent_id": "INTENT_ID",
					"question": {"text": {"content": "如何退货"}},
					"similar_questions": {"items": [{"text": {"content": "怎么退货"}}]},
					"answers": [{
						"text": {"content": "请在订单页申请"},
						"attachments": [
							{"msgtype": "image", "image": {"name": "a.png"}},
							{"msgtype": "video", "video": {"name": "b.mp4"}},
							{"msgtype": "link", "link": {"title": "T", "pic_url": "https://p", "desc": "D", "url": "https://u"}},
							{"msgtype": "miniprogram", "miniprogram": {"title": "T", "appid": "wx1", "pagepath": "/p"}}
						]
					}]
				},
				{
					"group_id": "GROUP_ID",
					"intent_id": "INTENT_ID2",
					"question": {"text": {"content": "营业时间"}}
				}
			]
		}`)
	})
	got, err := c.Knowledge.ListIntents(t.Context(), &ListIntentsRequest{Cursor: "CURSOR", Limit: 1000, GroupID: "GROUP_ID", IntentID: "INTENT_ID"})
	if err != nil {
		t.Fatal(err)
	}
	want := &ListIntentsResponse{
		NextCursor: "NEXT_CURSOR",
		Intents: []Intent{
			{
				GroupID:          "GROUP_ID",
				IntentID:         "INTENT_ID",
				Question:         IntentQuestion{Text: IntentText{Content: "如何退货"}},
				SimilarQuestions: IntentSimilarQuestions{Items: []IntentQuestion{{Text: IntentText{Content: "怎么退货"}}}},
				Answers: []IntentAnswer{{
					Text: IntentText{Content: "请在订单页申请"},
					Attachments: []IntentAttachment{
						{MsgType: MsgTypeImage, Image: &IntentMedia{Name: "a.png"}},
						{MsgType: MsgTypeVideo, Video: &IntentMedia{Name: "b.mp4"}},
						{MsgType: MsgTypeLink, Link: &IntentLink{Title: "T", PicURL: "https://p", Desc: "D", URL: "https://u"}},
						{MsgType: MsgTypeMiniProgram, MiniProgram: &IntentMiniProgram{Title: "T", AppID: "wx1", PagePath: "/p"}},
					},
				}},
			},
			{GroupID: "GROUP_ID", IntentID: "INTENT_ID2", Question: IntentQuestion{Text: IntentText{Content: "营业时间"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListIntents mismatch (-want +got):\n%s", diff)
	}
}

// kbPage is one scripted page of a list endpoint.
type kbPage struct {
	wantCursor string
	reply      string
}

// kbServePages serves pages in order on path and fails the test on an
// unexpected cursor or an extra call. It returns the call counter.
func kbServePages(t *testing.T, mux *http.ServeMux, path, extra string, pages []kbPage) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		if i >= len(pages) {
			t.Errorf("call %d: no more pages scripted", i+1)
			writeJSON(w, `{"errcode":-1,"errmsg":"unexpected"}`)
			return
		}
		testMethod(t, r, "POST")
		body := `{"limit":2` + extra
		if pages[i].wantCursor != "" {
			body += `,"cursor":"` + pages[i].wantCursor + `"`
		}
		testJSONBody(t, r, body+`}`)
		writeJSON(w, pages[i].reply)
	})
	return &calls
}

func TestKnowledgeAllGroups(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_group", `,"group_id":"G"`, []kbPage{
		{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"group_list":[{"group_id":"g1","name":"一","is_default":1},{"group_id":"g2","name":"二","is_default":0}]}`},
		// An empty page with has_more 1 does not stop the iteration.
		{"c1", `{"errcode":0,"errmsg":"ok","next_cursor":"c2","has_more":1,"group_list":[]}`},
		{"c2", `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":0,"group_list":[{"group_id":"g3","name":"三","is_default":0}]}`},
	})
	req := &ListGroupsRequest{Limit: 2, GroupID: "G"}
	var got []Group
	for g, err := range c.Knowledge.AllGroups(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, g)
	}
	want := []Group{{GroupID: "g1", Name: "一", IsDefault: true}, {GroupID: "g2", Name: "二"}, {GroupID: "g3", Name: "三"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AllGroups mismatch (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	if diff := cmp.Diff(&ListGroupsRequest{Limit: 2, GroupID: "G"}, req); diff != "" {
		t.Errorf("request modified (-want +got):\n%s", diff)
	}
}

func TestKnowledgeAllGroupsErrorMidway(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_group", "", []kbPage{
		{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"group_list":[{"group_id":"g1","name":"一","is_default":0}]}`},
		{"c1", `{"errcode":48002,"errmsg":"api forbidden"}`},
	})
	var ids []string
	var errs []error
	for g, err := range c.Knowledge.AllGroups(t.Context(), &ListGroupsRequest{Limit: 2}) {
		if err != nil {
			errs = append(errs, err)
			continue // the iterator must stop by itself
		}
		ids = append(ids, g.GroupID)
	}
	if diff := cmp.Diff([]string{"g1"}, ids); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if len(errs) != 1 {
		t.Fatalf("got %d errors (%v), want 1", len(errs), errs)
	}
	var ae *APIError
	if !errors.As(errs[0], &ae) || ae.Code != ErrCodeAPIForbidden || ae.Op != "kf/knowledge/list_group" {
		t.Errorf("err = %v, want APIError 48002 of kf/knowledge/list_group", errs[0])
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestKnowledgeAllIntents(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_intent", `,"group_id":"G"`, []kbPage{
		{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"intent_list":[{"group_id":"G","intent_id":"i1","question":{"text":{"content":"q1"}}}]}`},
		{"c1", `{"errcode":0,"errmsg":"ok","next_cursor":"c2","has_more":1,"intent_list":[{"group_id":"G","intent_id":"i2","question":{"text":{"content":"q2"}}}]}`},
		{"c2", `{"errcode":0,"errmsg":"ok","has_more":0,"intent_list":[{"group_id":"G","intent_id":"i3","question":{"text":{"content":"q3"}},"answers":[{"text":{"content":"a3"}}]}]}`},
	})
	var got []Intent
	for it, err := range c.Knowledge.AllIntents(t.Context(), &ListIntentsRequest{Limit: 2, GroupID: "G"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	q := func(s string) IntentQuestion { return IntentQuestion{Text: IntentText{Content: s}} }
	want := []Intent{
		{GroupID: "G", IntentID: "i1", Question: q("q1")},
		{GroupID: "G", IntentID: "i2", Question: q("q2")},
		{GroupID: "G", IntentID: "i3", Question: q("q3"), Answers: []IntentAnswer{{Text: IntentText{Content: "a3"}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AllIntents mismatch (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestKnowledgeAllIntentsErrorMidway(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_intent", "", []kbPage{
		{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"intent_list":[{"group_id":"G","intent_id":"i1","question":{"text":{"content":"q1"}}}]}`},
		{"c1", `{"errcode":40058,"errmsg":"invalid parameter"}`},
	})
	n, nerr := 0, 0
	for _, err := range c.Knowledge.AllIntents(t.Context(), &ListIntentsRequest{Limit: 2}) {
		if err != nil {
			nerr++
			if !errors.Is(err, ErrCodeInvalidParameter) {
				t.Errorf("err = %v, want errcode 40058", err)
			}
			continue
		}
		n++
	}
	if n != 1 || nerr != 1 {
		t.Errorf("got %d intents and %d errors, want 1 and 1", n, nerr)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d calls, want 2", got)
	}
}

func TestKnowledgeIteratorRepeatedCursor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pages []kbPage
	}{
		{"same cursor again", []kbPage{
			{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"group_list":[{"group_id":"g1","name":"一"}]}`},
			{"c1", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"group_list":[{"group_id":"g2","name":"二"}]}`},
		}},
		{"empty cursor with has_more", []kbPage{
			{"", `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":1,"group_list":[{"group_id":"g1","name":"一"}]}`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_group", "", tc.pages)
			var errs []error
			n := 0
			for _, err := range c.Knowledge.AllGroups(t.Context(), &ListGroupsRequest{Limit: 2}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				n++
			}
			if n != len(tc.pages) {
				t.Errorf("got %d groups, want %d", n, len(tc.pages))
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), "repeated cursor") || !errors.Is(errs[0], ErrRepeatedCursor) {
				t.Errorf("errors = %v, want one repeated-cursor error", errs)
			}
			if got := calls.Load(); int(got) != len(tc.pages) {
				t.Errorf("%d calls, want %d", got, len(tc.pages))
			}
		})
	}
}

func TestKnowledgeIteratorStopsWhenConsumerBreaks(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	calls := kbServePages(t, mux, "/cgi-bin/kf/knowledge/list_group", "", []kbPage{
		{"", `{"errcode":0,"errmsg":"ok","next_cursor":"c1","has_more":1,"group_list":[{"group_id":"g1","name":"一"},{"group_id":"g2","name":"二"}]}`},
	})
	for g, err := range c.Knowledge.AllGroups(t.Context(), &ListGroupsRequest{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if g.GroupID == "g1" {
			break
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestKnowledgeIteratorInvalidLimit(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testNoRequest(t, mux, "/cgi-bin/kf/knowledge/list_group")
	testNoRequest(t, mux, "/cgi-bin/kf/knowledge/list_intent")
	n := 0
	for _, err := range c.Knowledge.AllGroups(t.Context(), &ListGroupsRequest{Limit: 1001}) {
		n++
		checkValidation(t, err, "kf/knowledge/list_group", "limit", "out of range")
	}
	for _, err := range c.Knowledge.AllIntents(t.Context(), &ListIntentsRequest{Limit: -1}) {
		n++
		checkValidation(t, err, "kf/knowledge/list_intent", "limit", "out of range")
	}
	if n != 2 {
		t.Errorf("%d values yielded, want 2", n)
	}
}

func TestKnowledgeValidation(t *testing.T) {
	t.Parallel()
	q := IntentQuestion{Text: IntentText{Content: "Q"}}
	ans := func(atts ...IntentAttachment) []IntentAnswer {
		return []IntentAnswer{{Text: IntentText{Content: "A"}, Attachments: atts}}
	}
	addIntent := func(atts ...IntentAttachment) func(c *Client) error {
		return func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G", Question: q, Answers: ans(atts...)})
			return err
		}
	}
	tests := []struct {
		name, path, op, field, msg string
		call                       func(c *Client) error
	}{
		{"add group nil", "add_group", "add_group", "request", "nil", func(c *Client) error {
			_, err := c.Knowledge.AddGroup(t.Context(), nil)
			return err
		}},
		{"add group empty name", "add_group", "add_group", "name", "required", func(c *Client) error {
			_, err := c.Knowledge.AddGroup(t.Context(), &AddGroupRequest{})
			return err
		}},
		{"add group 13 chars", "add_group", "add_group", "name", "longer than 12 characters (13)", func(c *Client) error {
			_, err := c.Knowledge.AddGroup(t.Context(), &AddGroupRequest{Name: strings.Repeat("组", 13)})
			return err
		}},
		{"add group bad utf-8", "add_group", "add_group", "name", "UTF-8", func(c *Client) error {
			_, err := c.Knowledge.AddGroup(t.Context(), &AddGroupRequest{Name: "\xff"})
			return err
		}},
		{"del group no id", "del_group", "del_group", "group_id", "required", func(c *Client) error {
			return c.Knowledge.DeleteGroup(t.Context(), &DeleteGroupRequest{})
		}},
		{"mod group no id", "mod_group", "mod_group", "group_id", "required", func(c *Client) error {
			return c.Knowledge.ModifyGroup(t.Context(), &ModifyGroupRequest{Name: "x"})
		}},
		{"mod group no name", "mod_group", "mod_group", "name", "required", func(c *Client) error {
			return c.Knowledge.ModifyGroup(t.Context(), &ModifyGroupRequest{GroupID: "G"})
		}},
		{"mod group long name", "mod_group", "mod_group", "name", "longer than 12", func(c *Client) error {
			return c.Knowledge.ModifyGroup(t.Context(), &ModifyGroupRequest{GroupID: "G", Name: strings.Repeat("a", 13)})
		}},
		{"list groups limit", "list_group", "list_group", "limit", "out of range", func(c *Client) error {
			_, err := c.Knowledge.ListGroups(t.Context(), &ListGroupsRequest{Limit: 1001})
			return err
		}},
		{"add intent nil", "add_intent", "add_intent", "request", "nil", func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), nil)
			return err
		}},
		{"add intent no group", "add_intent", "add_intent", "group_id", "required", func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{Question: q})
			return err
		}},
		{"add intent no question", "add_intent", "add_intent", "question.text.content", "required", func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G"})
			return err
		}},
		{"add intent empty similar", "add_intent", "add_intent", "similar_questions.items[1].text.content", "required", func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G", Question: q,
				SimilarQuestions: IntentSimilarQuestions{Items: []IntentQuestion{q, {}}}})
			return err
		}},
		{"add intent two answers", "add_intent", "add_intent", "answers", "supports 1", func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G", Question: q,
				Answers: []IntentAnswer{{Text: IntentText{Content: "a"}}, {Text: IntentText{Content: "b"}}}})
			return err
		}},
		{"attachment no msgtype", "add_intent", "add_intent", "answers[0].attachments[0].msgtype", "required",
			addIntent(IntentAttachment{Image: &IntentMedia{MediaID: "M"}})},
		{"attachment unknown msgtype", "add_intent", "add_intent", "answers[0].attachments[0].msgtype", `"voice"`,
			addIntent(IntentAttachment{MsgType: MsgTypeVoice})},
		{"image without payload", "add_intent", "add_intent", "answers[0].attachments[1].image", "required",
			addIntent(ImageAttachment("M"), IntentAttachment{MsgType: MsgTypeImage, Video: &IntentMedia{MediaID: "M"}})},
		{"image without media_id", "add_intent", "add_intent", "answers[0].attachments[0].image.media_id", "required",
			addIntent(ImageAttachment(""))},
		{"video without media_id", "add_intent", "add_intent", "answers[0].attachments[0].video.media_id", "required",
			addIntent(IntentAttachment{MsgType: MsgTypeVideo, Video: &IntentMedia{Name: "x.mp4"}})},
		{"link without payload", "add_intent", "add_intent", "answers[0].attachments[0].link", "required",
			addIntent(IntentAttachment{MsgType: MsgTypeLink})},
		{"link without title", "add_intent", "add_intent", "answers[0].attachments[0].link.title", "required",
			addIntent(LinkAttachment(IntentLink{URL: "https://u"}))},
		{"link without url", "add_intent", "add_intent", "answers[0].attachments[0].link.url", "required",
			addIntent(LinkAttachment(IntentLink{Title: "T"}))},
		{"miniprogram without payload", "add_intent", "add_intent", "answers[0].attachments[0].miniprogram", "required",
			addIntent(IntentAttachment{MsgType: MsgTypeMiniProgram})},
		{"miniprogram without appid", "add_intent", "add_intent", "answers[0].attachments[0].miniprogram.appid", "required",
			addIntent(MiniProgramAttachment(IntentMiniProgram{ThumbMediaID: "M", PagePath: "/p"}))},
		{"miniprogram without thumb", "add_intent", "add_intent", "answers[0].attachments[0].miniprogram.thumb_media_id", "required",
			addIntent(MiniProgramAttachment(IntentMiniProgram{AppID: "wx", PagePath: "/p"}))},
		{"miniprogram without pagepath", "add_intent", "add_intent", "answers[0].attachments[0].miniprogram.pagepath", "required",
			addIntent(MiniProgramAttachment(IntentMiniProgram{AppID: "wx", ThumbMediaID: "M"}))},
		{"del intent no id", "del_intent", "del_intent", "intent_id", "required", func(c *Client) error {
			return c.Knowledge.DeleteIntent(t.Context(), &DeleteIntentRequest{})
		}},
		{"mod intent no id", "mod_intent", "mod_intent", "intent_id", "required", func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{Question: &q})
		}},
		{"mod intent empty question", "mod_intent", "mod_intent", "question.text.content", "required", func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{IntentID: "I", Question: &IntentQuestion{}})
		}},
		{"mod intent empty similar", "mod_intent", "mod_intent", "similar_questions.items[0].text.content", "required", func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{IntentID: "I",
				SimilarQuestions: &IntentSimilarQuestions{Items: []IntentQuestion{{}}}})
		}},
		{"mod intent two answers", "mod_intent", "mod_intent", "answers", "supports 1", func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{IntentID: "I", Answers: make([]IntentAnswer, 2)})
		}},
		{"mod intent bad attachment", "mod_intent", "mod_intent", "answers[0].attachments[0].link.url", "required", func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{IntentID: "I", Answers: ans(LinkAttachment(IntentLink{Title: "T"}))})
		}},
		{"list intents limit", "list_intent", "list_intent", "limit", "out of range", func(c *Client) error {
			_, err := c.Knowledge.ListIntents(t.Context(), &ListIntentsRequest{Limit: 1001})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, "/cgi-bin/kf/knowledge/"+tc.path)
			checkValidation(t, tc.call(c), "kf/knowledge/"+tc.op, tc.field, tc.msg)
		})
	}
}

func TestKnowledgeAPIErrors(t *testing.T) {
	t.Parallel()
	q := IntentQuestion{Text: IntentText{Content: "Q"}}
	for _, tc := range []struct {
		path string
		code ErrCode
		call func(c *Client) error
	}{
		{"add_group", ErrCodeInvalidParameter, func(c *Client) error {
			_, err := c.Knowledge.AddGroup(t.Context(), &AddGroupRequest{Name: "dup"})
			return err
		}},
		{"del_group", ErrCodeAPIForbidden, func(c *Client) error {
			return c.Knowledge.DeleteGroup(t.Context(), &DeleteGroupRequest{GroupID: "G"})
		}},
		{"mod_group", ErrCodeNoPrivilege, func(c *Client) error {
			return c.Knowledge.ModifyGroup(t.Context(), &ModifyGroupRequest{GroupID: "G", Name: "x"})
		}},
		{"list_group", ErrCodeAPISwitchOff, func(c *Client) error {
			_, err := c.Knowledge.ListGroups(t.Context(), nil)
			return err
		}},
		{"add_intent", ErrCodeParameterEmpty, func(c *Client) error {
			_, err := c.Knowledge.AddIntent(t.Context(), &AddIntentRequest{GroupID: "G", Question: q})
			return err
		}},
		{"del_intent", ErrCodeInvalidParameter, func(c *Client) error {
			return c.Knowledge.DeleteIntent(t.Context(), &DeleteIntentRequest{IntentID: "I"})
		}},
		{"mod_intent", ErrCodeInvalidParameter, func(c *Client) error {
			return c.Knowledge.ModifyIntent(t.Context(), &ModifyIntentRequest{IntentID: "I", Question: &q})
		}},
		{"list_intent", ErrCodeAPIForbidden, func(c *Client) error {
			_, err := c.Knowledge.ListIntents(t.Context(), nil)
			return err
		}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testAPIError(t, mux, "/cgi-bin/kf/knowledge/"+tc.path, "kf/knowledge/"+tc.path, tc.code, func() error { return tc.call(c) })
		})
	}
}

// TestKnowledgeWireFlags checks the 0/1 mapping both ways and the tolerance
// of true/false on input.
func TestKnowledgeWireFlags(t *testing.T) {
	t.Parallel()
	var r ListGroupsResponse
	if err := json.Unmarshal([]byte(`{"next_cursor":"n","has_more":true,"group_list":[{"group_id":"g","name":"x","is_default":true},{"group_id":"h","name":"y","is_default":false}]}`), &r); err != nil {
		t.Fatal(err)
	}
	want := ListGroupsResponse{NextCursor: "n", HasMore: true, Groups: []Group{{GroupID: "g", Name: "x", IsDefault: true}, {GroupID: "h", Name: "y"}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("decode (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if s := `{"next_cursor":"n","has_more":1,"group_list":[{"group_id":"g","name":"x","is_default":1},{"group_id":"h","name":"y","is_default":0}]}`; string(b) != s {
		t.Errorf("encode = %s, want %s", b, s)
	}
	li, err := json.Marshal(ListIntentsResponse{Intents: []Intent{}})
	if err != nil {
		t.Fatal(err)
	}
	if s := `{"next_cursor":"","has_more":0,"intent_list":[]}`; string(li) != s {
		t.Errorf("encode = %s, want %s", li, s)
	}
	if err := json.Unmarshal([]byte(`{"has_more":"yes"}`), &r); err == nil {
		t.Error("has_more \"yes\" decoded without error")
	}
}
