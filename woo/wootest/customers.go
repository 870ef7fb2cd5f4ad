package wootest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Address is a billing or shipping address.
type Address struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

type customer struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Username     string    `json:"username"`
	Role         string    `json:"role"`
	DateCreated  time.Time `json:"date_created"`
	DateModified time.Time `json:"date_modified"`
	Billing      Address   `json:"billing"`
	Shipping     Address   `json:"shipping"`
}

// SeedCustomer is a registered customer to add with AddCustomer.
type SeedCustomer struct {
	Email, FirstName, LastName string
	Username                   string    // default: the email's local part (made unique)
	Role                       string    // default "customer"
	Registered                 time.Time // default: the store clock's now
	Billing                    Address   // Billing.Email defaults to Email
}

// AddCustomer adds a registered customer and returns its user id. When a
// user with that email exists (case-insensitively) its id is returned and
// nothing changes.
func (s *Store) AddCustomer(c SeedCustomer) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := s.userIDByEmail(c.Email); id != 0 {
		return id
	}
	cu := s.newCustomerLocked(c)
	s.persistLocked()
	return cu.ID
}

func (s *Store) newCustomerLocked(c SeedCustomer) *customer {
	now := c.Registered
	if now.IsZero() {
		now = s.now()
	}
	now = now.UTC().Truncate(time.Second)
	email := strings.ToLower(strings.TrimSpace(c.Email))
	if c.Role == "" {
		c.Role = "customer"
	}
	username := c.Username
	if username == "" {
		username, _, _ = strings.Cut(email, "@")
	}
	base, n := username, 1
	for s.usernameTaken(username) {
		n++
		username = base + strconv.Itoa(n)
	}
	if c.Billing.Email == "" {
		c.Billing.Email = email
	}
	if c.Billing.FirstName == "" {
		c.Billing.FirstName = c.FirstName
	}
	if c.Billing.LastName == "" {
		c.Billing.LastName = c.LastName
	}
	cu := &customer{
		ID: s.db.nextUserID(), Email: email, FirstName: c.FirstName, LastName: c.LastName,
		Username: username, Role: c.Role, DateCreated: now, DateModified: now, Billing: c.Billing,
	}
	s.db.Customers[cu.ID] = cu
	s.db.customerIDs = append(s.db.customerIDs, cu.ID)
	return cu
}

func (s *Store) usernameTaken(u string) bool {
	for _, c := range s.db.Customers {
		if strings.EqualFold(c.Username, u) {
			return true
		}
	}
	return false
}

// userIDByEmail finds a user by email, case-insensitively. Caller holds s.mu.
func (s *Store) userIDByEmail(email string) int64 {
	email = strings.TrimSpace(email)
	for _, id := range s.db.customerIDs {
		if strings.EqualFold(s.db.Customers[id].Email, email) {
			return id
		}
	}
	return 0
}

// isPaying is WooCommerce's is_paying_customer: set by payment_complete()
// or an order reaching completed, never by a processing cash-on-delivery or
// bank-transfer order; an order placed as a guest before registering does
// not count either (it has no customer id). The sandbox takes "was
// completed once" for it. Caller holds s.mu.
func (s *Store) isPaying(userID int64) bool {
	for _, id := range s.db.orderIDs {
		o := s.db.Orders[id]
		if o.CustomerID == userID && o.DateCompleted != nil {
			return true
		}
	}
	return false
}

func (s *Store) customerJSON(c *customer, baseURL string) json.RawMessage {
	return orderedJSON([]kv{
		{"id", c.ID},
		{"date_created", s.localDate(c.DateCreated)},
		{"date_created_gmt", gmtDate(c.DateCreated)},
		{"date_modified", s.localDate(c.DateModified)},
		{"date_modified_gmt", gmtDate(c.DateModified)},
		{"email", c.Email},
		{"first_name", c.FirstName},
		{"last_name", c.LastName},
		{"role", c.Role},
		{"username", c.Username},
		{"billing", c.Billing},
		{"shipping", c.Shipping},
		{"is_paying_customer", s.isPaying(c.ID)},
		{"avatar_url", "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g"},
		{"meta_data", []any{}},
		{"_links", map[string]any{
			"self":       []map[string]string{{"href": baseURL + "/wp-json/wc/v3/customers/" + strconv.FormatInt(c.ID, 10)}},
			"collection": []map[string]string{{"href": baseURL + "/wp-json/wc/v3/customers"}},
		}},
	})
}

var customerRoles = []string{"all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager"}

// listCustomers is GET /customers (registered users only).
func (s *Store) listCustomers(q *request) response {
	page, perPage, err := pageParams(q)
	if err != nil {
		return fail(err)
	}
	desc, err := orderParam(q, "asc")
	if err != nil {
		return fail(err)
	}
	orderBy, err := enumParam(q, "orderby", "name", "id", "include", "name", "registered_date")
	if err != nil {
		return fail(err)
	}
	role, err := enumParam(q, "role", "customer", customerRoles...)
	if err != nil {
		return fail(err)
	}
	include, err := idListParam(q, "include")
	if err != nil {
		return fail(err)
	}
	exclude, err := idListParam(q, "exclude")
	if err != nil {
		return fail(err)
	}
	email := strings.TrimSpace(q.str("email"))
	search := strings.ToLower(strings.Trim(q.str("search"), "*"))

	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*customer
	for _, id := range s.db.customerIDs {
		c := s.db.Customers[id]
		switch {
		case role != "all" && c.Role != role:
			continue
		case email != "" && !strings.EqualFold(c.Email, email):
			continue
		case len(include) > 0 && !slices.Contains(include, c.ID):
			continue
		case slices.Contains(exclude, c.ID):
			continue
		case search != "" && !strings.Contains(strings.ToLower(c.Email), search) &&
			!strings.Contains(strings.ToLower(c.Username), search) &&
			!strings.Contains(strings.ToLower(displayName(c)), search):
			continue
		}
		list = append(list, c)
	}
	slices.SortStableFunc(list, func(a, b *customer) int {
		var r int
		switch orderBy {
		case "id":
			r = cmp.Compare(a.ID, b.ID)
		case "include":
			r = cmp.Compare(int64(slices.Index(include, a.ID)), int64(slices.Index(include, b.ID)))
		case "registered_date":
			r = a.DateCreated.Compare(b.DateCreated)
		default:
			r = strings.Compare(strings.ToLower(displayName(a)), strings.ToLower(displayName(b)))
		}
		return byID(r, a.ID, b.ID, desc)
	})
	return pageResponse(q, list, page, perPage, func(c *customer) json.RawMessage { return s.customerJSON(c, q.baseURL) })
}

// displayName is what WordPress sorts "name" by: the display name, which
// WooCommerce sets to "First Last" or the username.
func displayName(c *customer) string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	return c.Username
}

func (s *Store) getCustomer(q *request, id int64) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.db.Customers[id]
	if c == nil {
		return fail(newErr(http.StatusNotFound, "woocommerce_rest_invalid_id", "Invalid resource ID."))
	}
	return ok(http.StatusOK, s.customerJSON(c, q.baseURL))
}

// createCustomerRoute is POST /customers.
func (s *Store) createCustomerRoute(q *request) response {
	email := strings.TrimSpace(q.str("email"))
	if _, ok := q.param("email"); !ok {
		e := newErr(http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): email")
		e.Extra = map[string]any{"params": []string{"email"}}
		return fail(e)
	}
	if !isEmail(email) {
		return fail(newErr(http.StatusBadRequest, "registration-error-invalid-email", "Please provide a valid email address."))
	}
	var seed SeedCustomer
	seed.Email = email
	seed.FirstName = q.str("first_name")
	seed.LastName = q.str("last_name")
	seed.Username = q.str("username")
	if raw, ok := q.param("billing"); ok {
		_ = json.Unmarshal(raw, &seed.Billing)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userIDByEmail(email) != 0 {
		return fail(newErr(http.StatusBadRequest, "registration-error-email-exists",
			`An account is already registered with your email address. <a href="#" class="showlogin">Please log in.</a>`))
	}
	if seed.Username != "" && s.usernameTaken(seed.Username) {
		return fail(newErr(http.StatusBadRequest, "registration-error-username-exists",
			"An account is already registered with that username. Please choose another."))
	}
	c := s.newCustomerLocked(seed)
	s.persistLocked()
	r := ok(http.StatusCreated, s.customerJSON(c, q.baseURL))
	r.header.Set("Location", q.baseURL+"/wp-json/wc/v3/customers/"+strconv.FormatInt(c.ID, 10))
	return r
}
