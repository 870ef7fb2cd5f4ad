package campaign

import "strings"

// listUnsubscribe returns the List-Unsubscribe URLs of the email to email
// and whether it offers RFC 8058 one-click: the recipient's own link first
// (when UnsubscribeLink is set), then the configured ones. Gmail and Yahoo
// ask bulk senders for one-click, which needs an https URL that
// unsubscribes by itself: the daemon's link is one.
func (m MailSpec) listUnsubscribe(campaign, email string) ([]string, bool) {
	if m.UnsubscribeLink == nil {
		return m.Unsubscribe, m.OneClick
	}
	link := m.UnsubscribeLink(campaign, email)
	if link == "" {
		return m.Unsubscribe, m.OneClick
	}
	out := append([]string{link}, m.Unsubscribe...)
	return out, m.OneClick || strings.HasPrefix(link, "https://")
}
