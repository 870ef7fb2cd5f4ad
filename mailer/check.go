package mailer

import (
	"context"
	"errors"
	"fmt"
)

// ErrLoginRefused is matched (errors.Is) by Check's error when the server
// answered the login with a permanent refusal: a wrong user name or
// password, or a mechanism it does not allow.
var ErrLoginRefused = errors.New("mailer: login refused")

// Check connects to the mail server as a send would, with the configured
// TLS (implicit or STARTTLS), EHLO and AUTH, then says QUIT: it tells
// whether the server is reachable and accepts the login before a campaign
// depends on it, and never sends a message (no MAIL FROM is issued).
func (s *SMTPSender) Check(ctx context.Context) error {
	conn, err := s.dial(ctx)
	if err != nil {
		if code, reply := replyCode(err); code >= 500 && s.cfg.Auth != AuthNone {
			return fmt.Errorf("%w by %s (%s): %s", ErrLoginRefused, s.addr, s.cfg.Auth, reply)
		}
		return fmt.Errorf("mailer: %s: %w", s.addr, err)
	}
	if err := conn.c.Quit(); err != nil {
		_ = conn.c.Close()
		return fmt.Errorf("mailer: %s: QUIT: %w", s.addr, err)
	}
	return nil
}
