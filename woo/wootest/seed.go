package wootest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DemoSeed counts what SeedDemo put into a store.
type DemoSeed struct {
	// NewSignups registered in the last 7 days and never ordered: a
	// welcome job's audience.
	NewSignups int
	// NewBuyers registered in the last 7 days and already bought (a
	// cash-on-delivery order still processing, a bank transfer on hold, a
	// guest order placed before registering): a welcome job that skips
	// paying customers leaves them out.
	NewBuyers int
	// Lapsed are customers whose last paid order is 2 to 12 months old (at
	// least five of them 61 to 89 days, inside the default win-back window
	// of 60 to 90 days): a win-back job's audience.
	Lapsed int
	// Recent are customers who bought within the last 30 days, whom a
	// win-back job leaves out.
	Recent int
	// Guests bought without an account, half of them long ago, half lately.
	Guests int
	// Orders counts every order, cancelled and pending ones included.
	Orders int
}

// SeedDemo fills an empty store with demo customers and orders dated
// relative to now, so that welcome (new_customers) and win-back
// (inactive_customers) jobs find people. The choices come from a
// generator seeded with seed: the same seed and now give the same store.
// Emails are at example.com, example.net and example.org. A store that
// already has customers or orders (a sandbox restarted with its data
// file) is left alone: seeded is false then.
func (s *Store) SeedDemo(now time.Time, seed int64) (sum DemoSeed, seeded bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.db.Customers) > 0 || len(s.db.Orders) > 0 {
		return DemoSeed{}, false, nil
	}
	now = now.UTC().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed_de70))
	n := 0
	person := func() (first, last, email string) {
		n++
		first = demoFirstNames[rng.IntN(len(demoFirstNames))]
		last = demoLastNames[rng.IntN(len(demoLastNames))]
		domain := []string{"example.com", "example.net", "example.org"}[rng.IntN(3)]
		email = fmt.Sprintf("%s.%s%d@%s", demoSlug(first), demoSlug(last), n, domain)
		return first, last, email
	}
	daysAgo := func(minDays, maxDays int) time.Time {
		d := minDays + rng.IntN(maxDays-minDays+1)
		return now.AddDate(0, 0, -d).Add(-time.Duration(rng.IntN(12*60)) * time.Minute)
	}
	register := func(first, last, email string, at time.Time) int64 {
		return s.newCustomerLocked(SeedCustomer{Email: email, FirstName: first, LastName: last, Registered: at}).ID
	}
	order := func(customerID int64, first, last, email, status string, at time.Time) error {
		subtotal := fmt.Sprintf("%d.%02d", 15+rng.IntN(166), rng.IntN(100))
		o, werr := s.createOrderLocked(SeedOrder{CustomerID: customerID, Email: email, FirstName: first, LastName: last,
			Status: status, Subtotal: subtotal, Created: at, Currency: "EUR"}, nil)
		if werr != nil {
			return errorOf(werr)
		}
		// The order happened then: its status dates are its creation's,
		// not the moment of seeding.
		o.DateModified = at
		if o.DatePaid != nil {
			o.DatePaid = &at
		}
		if o.DateCompleted != nil {
			o.DateCompleted = &at
		}
		sum.Orders++
		return nil
	}

	// New sign-ups without an order; two give no name, as many do.
	for i := range 12 {
		first, last, email := person()
		if i < 2 {
			first, last = "", ""
		}
		register(first, last, email, daysAgo(0, 6))
		sum.NewSignups++
	}
	// New sign-ups who bought already.
	for i, status := range []string{"processing", "on-hold", "completed"} {
		first, last, email := person()
		registered := daysAgo(1, 6)
		if i == 2 {
			// A guest purchase weeks before registering.
			if err := order(0, first, last, email, status, daysAgo(20, 60)); err != nil {
				return sum, false, err
			}
			register(first, last, email, registered)
		} else {
			id := register(first, last, email, registered)
			if err := order(id, first, last, email, status, registered.Add(time.Hour)); err != nil {
				return sum, false, err
			}
		}
		sum.NewBuyers++
	}
	// Lapsed customers: one to four completed orders, the last 2 to 12
	// months ago.
	for i := range 20 {
		first, last, email := person()
		lastDays := 90 + rng.IntN(276)
		if i < 6 {
			lastDays = 61 + rng.IntN(29)
		}
		id := register(first, last, email, daysAgo(lastDays+30, lastDays+700))
		for k := rng.IntN(4); k > 0; k-- {
			if err := order(id, first, last, email, "completed", daysAgo(lastDays+10, lastDays+400)); err != nil {
				return sum, false, err
			}
		}
		if err := order(id, first, last, email, "completed", daysAgo(lastDays, lastDays)); err != nil {
			return sum, false, err
		}
		if i%7 == 3 {
			// A later order that was cancelled does not make them recent.
			if err := order(id, first, last, email, "cancelled", daysAgo(5, 40)); err != nil {
				return sum, false, err
			}
		}
		sum.Lapsed++
	}
	// Recent buyers: an older order and one in the last 30 days.
	for i := range 10 {
		first, last, email := person()
		id := register(first, last, email, daysAgo(120, 720))
		if err := order(id, first, last, email, "completed", daysAgo(100, 300)); err != nil {
			return sum, false, err
		}
		status := []string{"completed", "processing", "on-hold"}[i%3]
		if err := order(id, first, last, email, status, daysAgo(1, 30)); err != nil {
			return sum, false, err
		}
		sum.Recent++
	}
	// Guests: half lapsed, half recent; one recent guest's order is still
	// pending (not paid).
	for i := range 8 {
		first, last, email := person()
		at, status := daysAgo(65, 300), "completed"
		if i%2 == 1 {
			at, status = daysAgo(2, 25), "processing"
		}
		if i == 7 {
			status = "pending"
		}
		if err := order(0, first, last, email, status, at); err != nil {
			return sum, false, err
		}
		sum.Guests++
	}
	s.persistLocked()
	return sum, true, nil
}

var demoFirstNames = []string{
	"Anna", "Lukas", "Sofia", "Mateo", "Emma", "Jonas", "Chloé", "Hugo", "Lucía", "Pablo", "Sanne", "Daan",
	"Putri", "Budi", "Olivia", "Noah", "Mia", "Leon", "Inès", "Jules", "Carmen", "Diego", "Fleur", "Sem",
}

var demoLastNames = []string{
	"Müller", "Schmidt", "Martin", "Bernard", "García", "López", "de Jong", "Jansen", "Santoso", "Wijaya",
	"Smith", "Brown", "Weber", "Dubois", "Romero", "Visser", "Kusuma", "Taylor", "Fischer", "Moreau",
}

// demoSlug makes a name an address's local part: lowercase ASCII, no spaces.
func demoSlug(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r
		case strings.ContainsRune("áàâä", r):
			return 'a'
		case strings.ContainsRune("éèêë", r):
			return 'e'
		case strings.ContainsRune("íìîï", r):
			return 'i'
		case strings.ContainsRune("óòôö", r):
			return 'o'
		case strings.ContainsRune("úùûü", r):
			return 'u'
		case r == 'ç':
			return 'c'
		case r == 'ñ':
			return 'n'
		}
		return -1
	}, strings.ToLower(name))
}
