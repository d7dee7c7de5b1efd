package route

import (
	"errors"
	"strconv"
	"strings"
)

// Codes is a set of SIP status codes (100..699), for failover and probe
// answer lists.
type Codes [700]bool

// ErrCode is an entry of a code list that is neither a code nor a class.
var ErrCode = errors.New("a status code (100..699) or a class (1xx..6xx)")

// ParseCodes reads codes (503) and classes (5xx).
func ParseCodes(list []string) (*Codes, error) {
	var c Codes
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '6' {
			base := int(s[0]-'0') * 100
			for i := base; i < base+100; i++ {
				c[i] = true
			}
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 699 {
			return nil, ErrCode
		}
		c[n] = true
	}
	return &c, nil
}

// Has reports whether code is in c.
func (c *Codes) Has(code int) bool { return code >= 0 && code < len(c) && c[code] }
