package campaign

// toReleased returns a row to verified when the mail sender released its
// message (mailer.Message.Released): that attempt certainly did not hand it
// over, and the sender will try again after a wait. The attempt Prepare
// counted is taken back, so mail_attempts and MaxMailAttempts keep counting
// deliveries the sender gave up on, not its retries within one Send; and a
// process killed during the wait leaves the row verified, to be sent by the
// next run, not unconfirmed.
func toReleased(id int64, reason string) transition {
	return transition{id: id, from: StateSending, to: StateVerified, reason: reason, released: true}
}
