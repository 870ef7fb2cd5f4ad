package main

// secretUse names the secrets a command uses, with the store's address
// and key. A command is refused for a
// secret it needs and does not have, and never for one it does not use:
// `status` in a shell without the daemon's environment reads the ledger
// although $COUPONBRIDGE_WEBHOOK_SECRET is unset there.
type secretUse uint8

const (
	// useStoreURL: the command needs the shop's address (emails link to it).
	useStoreURL secretUse = 1 << iota
	// useStoreKey: the command talks to the store (consumer key and secret).
	useStoreKey
	// useSMTPPassword: the command may send email.
	useSMTPPassword
	// useWebhookSecret: the command verifies webhook deliveries (the daemon).
	useWebhookSecret

	// useStore is a command that talks to the store.
	useStore = useStoreURL | useStoreKey
	// useNoSecrets is a command that reads only the configuration and the ledger.
	useNoSecrets secretUse = 0
	// useAllSecrets is what check-config and the daemon check.
	useAllSecrets = useStore | useSMTPPassword | useWebhookSecret
)

// secretKeys are the configuration keys of each secret (the value and its
// *_file sibling) and of what goes with it: the store's address and key are
// set with its secret, in the same environment.
var secretKeys = []struct {
	use  secretUse
	keys []string
}{
	{useStoreURL, []string{"store.url"}},
	{useStoreKey, []string{"store.consumer_key", "store.consumer_secret", "store.consumer_secret_file"}},
	{useSMTPPassword, []string{"mail.smtp.password", "mail.smtp.password_file"}},
	{useWebhookSecret, []string{"daemon.webhook_secret", "daemon.webhook_secret_file"}},
}

// unusedSecretKeys returns the keys of the secrets a command with use does
// not need: an unset ${VAR} in them expands to nothing, a missing file is
// not read, and a missing value is not a problem.
func unusedSecretKeys(use secretUse) map[string]bool {
	out := map[string]bool{}
	for _, s := range secretKeys {
		if use&s.use == 0 {
			for _, k := range s.keys {
				out[k] = true
			}
		}
	}
	return out
}
