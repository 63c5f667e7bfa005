// Command kfctl is the command-line shell over the kf toolkit for WeChat
// Customer Service (WeCom 微信客服): one command per API area (account,
// servicer, session, send, sync, customer, stats, kb, media, mp) and emulate,
// which runs the kftest emulator standalone.
//
// Every flag has an environment fallback named KF_ and the flag's name in
// capitals with dashes as underscores (--corp-id: KF_CORP_ID). Output is a
// table by default and JSON with --output json. Exit codes: 0 success, 1 other
// failure, 2 usage error (bad flags or arguments, or a request refused by the
// library's validation before anything was sent), 3 API error (the platform
// answered with an errcode).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
