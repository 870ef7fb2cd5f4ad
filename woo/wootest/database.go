package wootest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// database is the store's content. Posts (coupons, orders) share one id
// sequence like wp_posts; users have their own.
type database struct {
	NextPostID int64
	NextUserID int64
	NextMetaID int64
	NextItemID int64

	Coupons     map[int64]*coupon
	couponOrder []int64
	// byCode holds the ids of the published coupons of each lowercased
	// code. WooCommerce has no unique index on codes, so two concurrent
	// creates can leave two coupons with one code.
	byCode      map[string][]int64
	Customers   map[int64]*customer
	customerIDs []int64
	Orders      map[int64]*order
	orderIDs    []int64
}

func newDatabase() *database {
	return &database{
		NextPostID: 100,
		NextUserID: 1, // user 1 is the site administrator
		Coupons:    map[int64]*coupon{},
		byCode:     map[string][]int64{},
		Customers:  map[int64]*customer{},
		Orders:     map[int64]*order{},
	}
}

func (d *database) nextPostID() int64 { d.NextPostID++; return d.NextPostID }
func (d *database) nextUserID() int64 { d.NextUserID++; return d.NextUserID }
func (d *database) nextItemID() int64 { d.NextItemID++; return d.NextItemID }

// index records a published coupon's code for duplicate checks and
// code lookups.
func (d *database) index(c *coupon) {
	if c.Status != "publish" {
		return
	}
	k := strings.ToLower(c.Code)
	if !slices.Contains(d.byCode[k], c.ID) {
		d.byCode[k] = append(d.byCode[k], c.ID)
	}
}

// unindex forgets a coupon's code (trashed, deleted or renamed).
func (d *database) unindex(c *coupon) {
	k := strings.ToLower(c.Code)
	d.byCode[k] = slices.DeleteFunc(d.byCode[k], func(id int64) bool { return id == c.ID })
	if len(d.byCode[k]) == 0 {
		delete(d.byCode, k)
	}
}

// dataFileVersion is the format version written to data files.
const dataFileVersion = 1

type dataFile struct {
	Version    int         `json:"version"`
	NextPostID int64       `json:"next_post_id"`
	NextUserID int64       `json:"next_user_id"`
	NextMetaID int64       `json:"next_meta_id"`
	NextItemID int64       `json:"next_item_id"`
	Coupons    []*coupon   `json:"coupons"`
	Customers  []*customer `json:"customers"`
	Orders     []*order    `json:"orders"`
}

func (s *Store) load() error {
	b, err := os.ReadFile(s.dataFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var f dataFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%s: %w", s.dataFile, err)
	}
	if f.Version != dataFileVersion {
		return fmt.Errorf("%s: unsupported data file version %d (want %d)", s.dataFile, f.Version, dataFileVersion)
	}
	db := newDatabase()
	db.NextPostID, db.NextUserID, db.NextMetaID, db.NextItemID = f.NextPostID, f.NextUserID, f.NextMetaID, f.NextItemID
	for _, c := range f.Coupons {
		if c == nil || c.ID <= 0 || db.Coupons[c.ID] != nil {
			return fmt.Errorf("%s: coupon with missing or duplicate id", s.dataFile)
		}
		db.Coupons[c.ID] = c
		db.couponOrder = append(db.couponOrder, c.ID)
		db.index(c)
	}
	for _, c := range f.Customers {
		if c == nil || c.ID <= 0 || db.Customers[c.ID] != nil {
			return fmt.Errorf("%s: customer with missing or duplicate id", s.dataFile)
		}
		db.Customers[c.ID] = c
		db.customerIDs = append(db.customerIDs, c.ID)
	}
	for _, o := range f.Orders {
		if o == nil || o.ID <= 0 || db.Orders[o.ID] != nil {
			return fmt.Errorf("%s: order with missing or duplicate id", s.dataFile)
		}
		db.Orders[o.ID] = o
		db.orderIDs = append(db.orderIDs, o.ID)
	}
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	return nil
}

// Save writes the store's data to the file given with WithDataFile (a no-op
// without one). The store also saves after every change.
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// persistLocked saves after a change; errors are logged, the request still
// succeeds (the data is in memory). Caller holds s.mu.
func (s *Store) persistLocked() {
	if err := s.saveLocked(); err != nil {
		s.logger.Error("wootest: saving data file", "path", s.dataFile, "err", err)
	}
}

func (s *Store) saveLocked() error {
	if s.dataFile == "" {
		return nil
	}
	d := s.db
	f := dataFile{
		Version: dataFileVersion, NextPostID: d.NextPostID, NextUserID: d.NextUserID,
		NextMetaID: d.NextMetaID, NextItemID: d.NextItemID,
		Coupons: []*coupon{}, Customers: []*customer{}, Orders: []*order{},
	}
	for _, id := range d.couponOrder {
		f.Coupons = append(f.Coupons, d.Coupons[id])
	}
	for _, id := range d.customerIDs {
		f.Customers = append(f.Customers, d.Customers[id])
	}
	for _, id := range d.orderIDs {
		f.Orders = append(f.Orders, d.Orders[id])
	}
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.dataFile), "."+filepath.Base(s.dataFile)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.dataFile)
}
