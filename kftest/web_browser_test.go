package kftest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/internal/testenv"
	"github.com/wxkf/kf/kftest"
)

// runBot is a tiny bot on the real client: it reads the account's messages
// with sync_msg and answers "hello" with an echo and a menu, a menu click
// with "you chose <id>", and an image with the same image.
func runBot(ctx context.Context, t *testing.T, s *kftest.Server, openKfID string) (done <-chan struct{}) {
	ch := make(chan struct{})
	c := s.Client()
	token, err := s.SyncToken(openKfID)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(ch)
		seen := map[string]bool{}
		send := func(to string, m kf.Outgoing) {
			if _, err := c.Messages.Send(ctx, &kf.SendMsgRequest{ToUser: to, OpenKfID: openKfID, Msg: m}); err != nil && ctx.Err() == nil {
				t.Errorf("bot: send_msg: %v", err)
			}
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for m, err := range c.Messages.SyncAll(ctx, &kf.SyncMsgRequest{OpenKfID: openKfID, Token: token}) {
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("bot: sync_msg: %v", err)
					}
					return
				}
				if seen[m.MsgID] || m.Origin != kf.OriginCustomer {
					continue
				}
				seen[m.MsgID] = true
				switch p := m.Payload.(type) {
				case *kf.Text:
					switch {
					case p.MenuID != "":
						send(m.ExternalUserID, kf.TextMsg("you chose "+p.MenuID))
					case p.Content == "hello":
						send(m.ExternalUserID, kf.TextMsg("echo: hello"))
						send(m.ExternalUserID, kf.MenuMsg("Do you like the shop?", "Tap an answer.",
							kf.ClickItem("yes", "Yes, a lot"), kf.ClickItem("no", "Not really"),
							kf.ViewItem("https://example.com/help", "Help centre")))
					default:
						send(m.ExternalUserID, kf.TextMsg("echo: "+p.Content))
					}
				case *kf.Image:
					send(m.ExternalUserID, kf.ImageMsg(p.MediaID))
				}
			}
		}
	}()
	return ch
}

// testPNG is a 2×2 PNG image.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 0xff, A: 0xff})
	img.Set(1, 0, color.RGBA{G: 0xff, A: 0xff})
	img.Set(0, 1, color.RGBA{B: 0xff, A: 0xff})
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWebBrowserChat(t *testing.T) {
	start := time.Now()
	s := kftest.NewServer(t, kftest.WithSeed(kftest.Seed{
		Accounts: []kftest.SeedAccount{
			{OpenKfID: "wkOther", Name: "Other desk"},
			{OpenKfID: "wkShop", Name: "Tea Shop 茶铺", Servicers: []string{"alice"}},
		},
		Customers: []kftest.SeedCustomer{
			{ExternalUserID: "wmAnna", Nickname: "Anna"},
			{ExternalUserID: "wmCarl", Nickname: "Carl 小王"},
		},
	}))
	ctx := testenv.Browser(t, 40*time.Second)

	botCtx, stopBot := context.WithCancel(ctx)
	botDone := runBot(botCtx, t, s, "wkShop")
	defer func() { stopBot(); <-botDone }()

	// waitFor polls a JavaScript predicate; on timeout it reports what the
	// page shows.
	waitFor := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#messages').innerText`))
			t.Fatalf("waiting for %s: %v\nthe chat shows:\n%s", what, err, html)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	choose := func(sel, value string) {
		t.Helper()
		waitFor(sel+" option "+value, fmt.Sprintf(`!!document.querySelector(%q)`, sel+` option[value="`+value+`"]`))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
			const s = document.querySelector(%q);
			s.value = %q;
			s.dispatchEvent(new Event('change', {bubbles: true}));
			return s.value;
		})()`, sel, value)))
		if err != nil || got != value {
			t.Fatalf("choosing %s in %s: %q, %v", value, sel, got, err)
		}
	}
	bubbleWith := func(class, text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('.msg.%s .bubble')].some(b => b.textContent.includes(%q))`, class, text)
	}

	do("open the page", chromedp.Navigate(s.URL()+"/"))
	waitFor("the page to load", `document.body.dataset.ready === '1' && document.querySelector('#connection').dataset.state === 'live'`)
	choose("#customer-select", "wmCarl")
	choose("#account-select", "wkShop")
	waitFor("the chat title", `document.querySelector('#chat-title').textContent === 'Tea Shop 茶铺'`)

	// The customer says hello; the bot answers with a text and a menu.
	do("type hello",
		chromedp.SendKeys(chromedp.CSS("#message-input"), "hello"),
		chromedp.Click(chromedp.CSS("#send-button")))
	waitFor("the customer's bubble", bubbleWith("outgoing", "hello"))
	waitFor("the echo", bubbleWith("incoming", "echo: hello"))
	waitFor("the menu", `!!document.querySelector('.msg.incoming .menu-item[data-menu-id="yes"]') &&
		!!document.querySelector('.msg.incoming .menu-item[data-menu-id="no"]') &&
		!!document.querySelector('.msg.incoming a.menu-item.view[href="https://example.com/help"]')`)

	// What the platform sees: a new session, untreated, 2 of 5 messages used.
	waitFor("state 0", `document.querySelector('#session-state').dataset.state === '0'`)
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#session-state")))
	if err != nil || !strings.Contains(state, "未处理") || !strings.Contains(state, "untreated") {
		t.Errorf("session state shows %q (%v), want 0 · 未处理 · untreated", state, err)
	}
	waitFor("the budget", `document.querySelector('#session-budget').textContent.startsWith('3 / 5')`)
	waitFor("the sync log", `document.querySelectorAll('#sync-log li[data-msgtype="text"]').length === 1`)

	// The customer clicks "yes": a text with menu_id goes to the bot.
	do("click yes", chromedp.Click(chromedp.CSS(`.msg.incoming .menu-item[data-menu-id="yes"]`)))
	waitFor("the bot's answer", bubbleWith("incoming", "you chose yes"))
	waitFor("the click in the chat", bubbleWith("outgoing", "Yes, a lot"))
	var click struct {
		Content string `json:"content"`
		MenuID  string `json:"menu_id"`
	}
	conv := s.Conversation("wkShop", "wmCarl")
	for _, m := range conv.Messages {
		if m.From == "customer" && strings.Contains(string(m.Payload), "menu_id") {
			if err := json.Unmarshal(m.Payload, &click); err != nil {
				t.Fatal(err)
			}
		}
	}
	if click.MenuID != "yes" || click.Content != "Yes, a lot" {
		t.Errorf("the menu click reached the platform as %+v", click)
	}

	// The customer sends an image from a file; the bot sends it back.
	file := filepath.Join(t.TempDir(), "dot.png")
	if err := os.WriteFile(file, testPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	do("send an image", chromedp.SetUploadFiles(chromedp.CSS("#image-input"), []string{file}))
	waitFor("both images shown", `(() => {
		const ok = (sel) => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth === 2; };
		return ok('.msg.outgoing img.msg-image') && ok('.msg.incoming img.msg-image');
	})()`)

	// Nothing went to the other customer or the other account.
	if n := len(s.SyncLog("wkOther")); n != 0 {
		t.Errorf("wkOther has %d log entries", n)
	}
	if cv := s.Conversation("wkShop", "wmAnna"); len(cv.Messages) != 0 {
		t.Errorf("Anna's conversation has %d messages", len(cv.Messages))
	}

	// A screenshot for people (kept in the test's temp dir, or in
	// $KFTEST_SCREENSHOT when set).
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := os.Getenv("KFTEST_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "chat.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes); the scenario took %v", out, len(shot), time.Since(start).Round(time.Millisecond))
}
