package config

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// whsec is a Standard Webhooks secret of n random-looking bytes.
func whsec(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(7*i + 3)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func TestNotifySettings(t *testing.T) {
	secret := whsec(32)
	c := mustLoad(t, map[string]string{"BANKFEED_NOTIFY_URL": "https://hooks.example.com/bankfeed?k=1", "BANKFEED_NOTIFY_SECRET": secret,
		"BANKFEED_NOTIFY_TIMEOUT": "3s"}, "")
	if c.NotifyURL != "https://hooks.example.com/bankfeed?k=1" || len(c.NotifyKey.Reveal()) != 32 || c.NotifyTimeout != 3*time.Second {
		t.Fatalf("url %q, key %d bytes, timeout %s", c.NotifyURL, len(c.NotifyKey.Reveal()), c.NotifyTimeout)
	}
	// From a file, with an editor's newline.
	c = mustLoad(t, map[string]string{"BANKFEED_NOTIFY_URL": "http://127.0.0.1:9/x", "BANKFEED_NOTIFY_SECRET_FILE": writeFile(t, secret+"\n")}, "")
	if len(c.NotifyKey.Reveal()) != 32 {
		t.Fatalf("key from file: %d bytes", len(c.NotifyKey.Reveal()))
	}
	// A secret alone turns nothing on.
	if c := mustLoad(t, map[string]string{"BANKFEED_NOTIFY_SECRET": secret}, ""); c.NotifyURL != "" {
		t.Fatalf("NotifyURL = %q", c.NotifyURL)
	}
}

// Each bad notification setting is one line naming the variable and the
// fix, and never the secret or the URL (which may carry a credential).
func TestNotifyProblems(t *testing.T) {
	const url = "https://hooks.example.com/h"
	tests := []struct {
		name, want string
		env        map[string]string
	}{
		{"url without secret", "BANKFEED_NOTIFY_SECRET: not set, but BANKFEED_NOTIFY_URL is", map[string]string{"BANKFEED_NOTIFY_URL": url}},
		{"not whsec", "BANKFEED_NOTIFY_SECRET: does not start with whsec_", map[string]string{"BANKFEED_NOTIFY_URL": url,
			"BANKFEED_NOTIFY_SECRET": "s3cr3t-" + strings.Repeat("x", 40)}},
		{"not base64", "BANKFEED_NOTIFY_SECRET: the text after whsec_ is not base64", map[string]string{"BANKFEED_NOTIFY_URL": url,
			"BANKFEED_NOTIFY_SECRET": "whsec_!!not*base64!!"}},
		{"too short", "BANKFEED_NOTIFY_SECRET: decodes to 8 bytes", map[string]string{"BANKFEED_NOTIFY_URL": url, "BANKFEED_NOTIFY_SECRET": whsec(8)}},
		{"too long", "BANKFEED_NOTIFY_SECRET: decodes to 65 bytes", map[string]string{"BANKFEED_NOTIFY_URL": url, "BANKFEED_NOTIFY_SECRET": whsec(65)}},
		{"unreadable file", "BANKFEED_NOTIFY_SECRET_FILE: cannot read", map[string]string{"BANKFEED_NOTIFY_URL": url,
			"BANKFEED_NOTIFY_SECRET_FILE": "/nonexistent/whsec"}},
		{"both", "BANKFEED_NOTIFY_SECRET_FILE: BANKFEED_NOTIFY_SECRET is set too", map[string]string{"BANKFEED_NOTIFY_URL": url,
			"BANKFEED_NOTIFY_SECRET": whsec(32), "BANKFEED_NOTIFY_SECRET_FILE": "/nonexistent/whsec"}},
		{"bad url", "BANKFEED_NOTIFY_URL: not an absolute http(s) URL", map[string]string{"BANKFEED_NOTIFY_URL": "ftp://user:pw@host/x",
			"BANKFEED_NOTIFY_SECRET": whsec(32)}},
		{"bad timeout", "BANKFEED_NOTIFY_TIMEOUT", map[string]string{"BANKFEED_NOTIFY_TIMEOUT": "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env), "")
			ps := problems(t, err)
			if len(ps) != 1 || !strings.HasPrefix(ps[0], tt.want) {
				t.Fatalf("problems %q, want one starting %q", ps, tt.want)
			}
			for k, v := range tt.env {
				if k != "BANKFEED_NOTIFY_TIMEOUT" && k != "BANKFEED_NOTIFY_SECRET_FILE" && strings.Contains(ps[0], v) {
					t.Errorf("the message prints the value of %s", k)
				}
			}
		})
	}
}
