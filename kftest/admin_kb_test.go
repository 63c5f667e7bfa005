package kftest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
)

func adminGroups(t *testing.T, c *kf.Client, limit int) []kf.Group {
	t.Helper()
	var out []kf.Group
	for g, err := range c.Knowledge.AllGroups(t.Context(), &kf.ListGroupsRequest{Limit: limit}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

func TestAdminKnowledgeGroups(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t)
	ctx := t.Context()
	groups := adminGroups(t, c, 0)
	if len(groups) != 1 || groups[0].Name != "默认分组" || !groups[0].IsDefault {
		t.Fatalf("initial groups = %+v", groups)
	}
	def := groups[0].GroupID
	faq, err := c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "FAQ"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "FAQ"})
	wantCode(t, err, kf.ErrCodeInvalidParameter)
	_, err = c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "默认分组"})
	wantCode(t, err, kf.ErrCodeInvalidParameter)
	if err := c.Knowledge.ModifyGroup(ctx, &kf.ModifyGroupRequest{GroupID: faq.GroupID, Name: "常见问题"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Knowledge.ModifyGroup(ctx, &kf.ModifyGroupRequest{GroupID: def, Name: "renamed"}), kf.ErrCodeInvalidParameter)
	wantCode(t, c.Knowledge.DeleteGroup(ctx, &kf.DeleteGroupRequest{GroupID: def}), kf.ErrCodeInvalidParameter)
	wantCode(t, c.Knowledge.DeleteGroup(ctx, &kf.DeleteGroupRequest{GroupID: "kbgnope"}), kf.ErrCodeInvalidParameter)
	wantCode(t, c.Knowledge.ModifyGroup(ctx, &kf.ModifyGroupRequest{GroupID: "kbgnope", Name: "x"}), kf.ErrCodeInvalidParameter)

	one, err := c.Knowledge.ListGroups(ctx, &kf.ListGroupsRequest{GroupID: faq.GroupID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&kf.ListGroupsResponse{Groups: []kf.Group{{GroupID: faq.GroupID, Name: "常见问题"}}}, one); diff != "" {
		t.Errorf("list one group (-want +got):\n%s", diff)
	}
	for body, want := range map[string]kf.ErrCode{
		`{"name":"一二三四五六七八九十一二三"}`: kf.ErrCodeInvalidParameter,
		`{"name":""}`: kf.ErrCodeParameterEmpty,
	} {
		if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/knowledge/add_group", "", body); code != want {
			t.Errorf("add_group %s: errcode %d, want %d", body, int(code), int(want))
		}
	}
	for body, want := range map[string]kf.ErrCode{
		`{"limit":1001}`:      kf.ErrCodeInvalidParameter,
		`{"cursor":"bogus"}`:  kf.ErrCodeInvalidParameter,
		`{"group_id":"nope"}`: kf.ErrCodeInvalidParameter,
		`{"limit":1000}`:      0,
	} {
		if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/knowledge/list_group", "", body); code != want {
			t.Errorf("list_group %s: errcode %d, want %d", body, int(code), int(want))
		}
	}

	// At most 100 groups, the default one included.
	for i := 3; i <= 100; i++ {
		if _, err := c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: fmt.Sprint("g", i)}); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	_, err = c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "g101"})
	wantCode(t, err, kf.ErrCodeInvalidParameter)
	before := s.Calls()["/cgi-bin/kf/knowledge/list_group"]
	all := adminGroups(t, c, 7)
	if len(all) != 100 || all[0].GroupID != def || all[1].GroupID != faq.GroupID || all[99].Name != "g100" {
		t.Errorf("AllGroups: %d groups, first %+v", len(all), all[:2])
	}
	if n := s.Calls()["/cgi-bin/kf/knowledge/list_group"] - before; n != 15 {
		t.Errorf("AllGroups with limit 7 made %d calls, want 15", n)
	}
	page, err := c.Knowledge.ListGroups(ctx, nil)
	if err != nil || len(page.Groups) != 100 || page.HasMore || page.NextCursor != "" {
		t.Errorf("default limit page: %d groups, has_more %v, cursor %q, %v", len(page.Groups), page.HasMore, page.NextCursor, err)
	}
}

func TestAdminKnowledgeIntents(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t)
	ctx := t.Context()
	img := adminAvatar(t, c)
	vid := s.PutMedia("video", "demo.mp4", []byte("\x00\x00\x00\x18ftypmp42"))
	g1, err := c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := c.Knowledge.AddGroup(ctx, &kf.AddGroupRequest{Name: "g2"})
	if err != nil {
		t.Fatal(err)
	}
	link := kf.IntentLink{Title: "T", PicURL: "https://p", Desc: "D", URL: "https://u"}
	req := &kf.AddIntentRequest{
		GroupID:          g1.GroupID,
		Question:         kf.IntentQuestion{Text: kf.IntentText{Content: "How do I pay?"}},
		SimilarQuestions: kf.IntentSimilarQuestions{Items: []kf.IntentQuestion{{Text: kf.IntentText{Content: "Payment?"}}}},
		Answers: []kf.IntentAnswer{{Text: kf.IntentText{Content: "With WeChat Pay."}, Attachments: []kf.IntentAttachment{
			kf.ImageAttachment(img), kf.VideoAttachment(vid), kf.LinkAttachment(link),
			kf.MiniProgramAttachment(kf.IntentMiniProgram{Title: "MP", ThumbMediaID: img, AppID: "wx1", PagePath: "/p"}),
		}}},
	}
	added, err := c.Knowledge.AddIntent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Knowledge.ListIntents(ctx, &kf.ListIntentsRequest{IntentID: added.IntentID})
	if err != nil {
		t.Fatal(err)
	}
	want := []kf.Intent{{
		GroupID: g1.GroupID, IntentID: added.IntentID, Question: req.Question, SimilarQuestions: req.SimilarQuestions,
		Answers: []kf.IntentAnswer{{Text: kf.IntentText{Content: "With WeChat Pay."}, Attachments: []kf.IntentAttachment{
			{MsgType: kf.MsgTypeImage, Image: &kf.IntentMedia{Name: "avatar.png"}},
			{MsgType: kf.MsgTypeVideo, Video: &kf.IntentMedia{Name: "demo.mp4"}},
			kf.LinkAttachment(link),
			kf.MiniProgramAttachment(kf.IntentMiniProgram{Title: "MP", AppID: "wx1", PagePath: "/p"}),
		}}},
	}}
	if diff := cmp.Diff(want, list.Intents); diff != "" {
		t.Errorf("list_intent (-want +got):\n%s", diff)
	}

	// The question is unique across groups.
	dup := *req
	dup.GroupID, dup.Answers = g2.GroupID, []kf.IntentAnswer{{Text: kf.IntentText{Content: "x"}}}
	_, err = c.Knowledge.AddIntent(ctx, &dup)
	wantCode(t, err, kf.ErrCodeInvalidParameter)
	text := func(group, q string) *kf.AddIntentRequest {
		return &kf.AddIntentRequest{GroupID: group, Question: kf.IntentQuestion{Text: kf.IntentText{Content: q}},
			Answers: []kf.IntentAnswer{{Text: kf.IntentText{Content: "a"}}}}
	}
	for name, tc := range map[string]struct {
		req  *kf.AddIntentRequest
		want kf.ErrCode
	}{
		"unknown group":   {text("kbgnope", "q1"), kf.ErrCodeInvalidParameter},
		"no answer":       {&kf.AddIntentRequest{GroupID: g2.GroupID, Question: kf.IntentQuestion{Text: kf.IntentText{Content: "q2"}}}, kf.ErrCodeParameterEmpty},
		"unknown media":   {&kf.AddIntentRequest{GroupID: g2.GroupID, Question: kf.IntentQuestion{Text: kf.IntentText{Content: "q3"}}, Answers: []kf.IntentAnswer{{Attachments: []kf.IntentAttachment{kf.ImageAttachment("nope")}}}}, kf.ErrCodeInvalidMediaID},
		"video as image":  {&kf.AddIntentRequest{GroupID: g2.GroupID, Question: kf.IntentQuestion{Text: kf.IntentText{Content: "q4"}}, Answers: []kf.IntentAnswer{{Attachments: []kf.IntentAttachment{kf.ImageAttachment(vid)}}}}, kf.ErrCodeInvalidMediaID},
		"attachment only": {&kf.AddIntentRequest{GroupID: g2.GroupID, Question: kf.IntentQuestion{Text: kf.IntentText{Content: "q5"}}, Answers: []kf.IntentAnswer{{Attachments: []kf.IntentAttachment{kf.LinkAttachment(link)}}}}, 0},
	} {
		if _, err := c.Knowledge.AddIntent(ctx, tc.req); !errMatches(err, tc.want) {
			t.Errorf("%s: err = %v, want errcode %d", name, err, int(tc.want))
		}
	}
	twoAnswers := `{"group_id":"` + g2.GroupID + `","question":{"text":{"content":"q6"}},"answers":[{"text":{"content":"a"}},{"text":{"content":"b"}}]}`
	if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/knowledge/add_intent", "", twoAnswers); code != kf.ErrCodeInvalidParameter {
		t.Errorf("two answers: errcode %d, want 40058", int(code))
	}

	// mod_intent replaces what it carries and keeps the rest.
	q := kf.IntentQuestion{Text: kf.IntentText{Content: "How can I pay?"}}
	if err := c.Knowledge.ModifyIntent(ctx, &kf.ModifyIntentRequest{IntentID: added.IntentID, Question: &q}); err != nil {
		t.Fatal(err)
	}
	list, _ = c.Knowledge.ListIntents(ctx, &kf.ListIntentsRequest{IntentID: added.IntentID})
	want[0].Question = q
	if diff := cmp.Diff(want, list.Intents); diff != "" {
		t.Errorf("after mod_intent (-want +got):\n%s", diff)
	}
	taken := kf.IntentQuestion{Text: kf.IntentText{Content: "q5"}}
	wantCode(t, c.Knowledge.ModifyIntent(ctx, &kf.ModifyIntentRequest{IntentID: added.IntentID, Question: &taken}), kf.ErrCodeInvalidParameter)
	wantCode(t, c.Knowledge.ModifyIntent(ctx, &kf.ModifyIntentRequest{IntentID: "kbinope", Question: &q}), kf.ErrCodeInvalidParameter)

	// At most 200 intents per group; AllIntents walks them all.
	for i := 0; i < 200; i++ {
		if _, err := c.Knowledge.AddIntent(ctx, text(g2.GroupID, fmt.Sprint("bulk ", i))); err != nil {
			if i == 199 { // g2 already holds "q5"
				wantCode(t, err, kf.ErrCodeInvalidParameter)
				break
			}
			t.Fatalf("intent %d: %v", i, err)
		}
	}
	var n int
	for in, err := range c.Knowledge.AllIntents(ctx, &kf.ListIntentsRequest{GroupID: g2.GroupID, Limit: 30}) {
		if err != nil {
			t.Fatal(err)
		}
		if in.GroupID != g2.GroupID {
			t.Fatalf("intent of group %s in a group filter", in.GroupID)
		}
		n++
	}
	if n != 200 {
		t.Errorf("AllIntents(g2) = %d intents, want 200", n)
	}

	// Deleting an intent, then a group with its intents.
	if err := c.Knowledge.DeleteIntent(ctx, &kf.DeleteIntentRequest{IntentID: added.IntentID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Knowledge.DeleteIntent(ctx, &kf.DeleteIntentRequest{IntentID: added.IntentID}), kf.ErrCodeInvalidParameter)
	if err := c.Knowledge.DeleteGroup(ctx, &kf.DeleteGroupRequest{GroupID: g2.GroupID}); err != nil {
		t.Fatal(err)
	}
	all, err := c.Knowledge.ListIntents(ctx, nil)
	if err != nil || len(all.Intents) != 0 {
		t.Errorf("after deleting the group: %d intents, %v", len(all.Intents), err)
	}
	_, err = c.Knowledge.ListIntents(ctx, &kf.ListIntentsRequest{GroupID: g2.GroupID})
	wantCode(t, err, kf.ErrCodeInvalidParameter)
}
