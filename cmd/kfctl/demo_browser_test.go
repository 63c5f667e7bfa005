package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxkf/kf/internal/testenv"
)

// TestDemoBrowser is a person using the demo's chat page: they say hello
// and see the echo, open the menu and click an item, then ask for a human
// and see the session move to the pool.
func TestDemoBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx := testenv.Browser(t, 60*time.Second)
	page, stop := startDemo(t)
	// The browser stops before the demo (cleanups run last-in first-out).
	closeBrowser := sync.OnceFunc(func() { _ = chromedp.Cancel(ctx) })
	t.Cleanup(closeBrowser)

	waitFor := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#messages').innerText`))
			t.Fatalf("waiting for %s: %v\nthe chat shows:\n%s", what, err, text)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	say := func(text string) {
		t.Helper()
		do("write "+text,
			chromedp.SendKeys(chromedp.CSS("#message-input"), text),
			chromedp.Click(chromedp.CSS("#send-button")))
	}
	bubbleWith := func(class, text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('.msg.%s .bubble')].some(b => b.textContent.includes(%q))`, class, text)
	}

	do("open the chat page", chromedp.Navigate(page))
	waitFor("the page", `document.body.dataset.ready === '1' && document.querySelector('#connection').dataset.state === 'live'`)
	waitFor("the chat with Support", `document.querySelector('#chat-title').textContent === 'Support'`)

	// 1. A message and its echo.
	say("hello bot")
	waitFor("the customer's bubble", bubbleWith("outgoing", "hello bot"))
	waitFor("the echo", bubbleWith("incoming", "echo: hello bot"))

	// 2. The menu, and a click on an item.
	say("menu")
	waitFor("the menu", `!!document.querySelector('.msg.incoming .menu-item[data-menu-id="hours"]')`)
	do("click Opening hours", chromedp.Click(chromedp.CSS(`.msg.incoming .menu-item[data-menu-id="hours"]`)))
	waitFor("the click in the chat", bubbleWith("outgoing", "Opening hours"))
	waitFor("the hours", bubbleWith("incoming", "We are open every day"))
	waitFor("the bot's session (state 1)", `document.querySelector('#session-state').dataset.state === '1'`)

	// 3. A person, please: the session goes to the pool (state 2).
	say("人工")
	waitFor("the handoff message", bubbleWith("incoming", "Connecting you to a person"))
	waitFor("the session in the pool", `document.querySelector('#session-state').dataset.state === '2'`)

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := os.Getenv("KFCTL_DEMO_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "demo.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	closeBrowser()
	if r := stop(); r.code != 0 {
		t.Fatalf("the demo exited with %d\nstderr:\n%s", r.code, r.stderr)
	}
	t.Logf("screenshot %s; the scenario took %v", out, time.Since(start).Round(time.Millisecond))
}
