package cloudflare

import (
	"fmt"
	"net/netip"
)

// normalizeRequestIP sends request_ip as CIDRs only: Cloudflare refuses a bare address ("use
// 192.168.0.1/32"), so one is sent as its /32 or /128. Anything else is refused before a request is made,
// naming the value.
func normalizeRequestIP(ip RequestIP) (RequestIP, error) {
	in, err := toCIDRs("request_ip.in", ip.In)
	if err != nil {
		return ip, err
	}
	notIn, err := toCIDRs("request_ip.not_in", ip.NotIn)
	if err != nil {
		return ip, err
	}
	return RequestIP{In: in, NotIn: notIn}, nil
}

func toCIDRs(field string, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.String())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %q is neither an IP address nor a CIDR such as 203.0.113.0/24", field, i, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()).String())
	}
	return out, nil
}
