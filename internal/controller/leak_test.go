package controller_test

import (
	"encoding/json"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// checkNoLeaks searches the captured log, every event and every CloudflareToken's status for every value
// the fake ever minted (parents included).
func checkNoLeaks() {
	values := fake.AllTokenValues()
	Expect(len(values)).To(BeNumerically(">", 10), "the suite minted too few tokens for the check to mean much")

	Expect(containsAny(logs.String(), values)).To(BeEmpty(), "a token value is in the manager's log")

	events := &eventsv1.EventList{}
	Expect(k8sClient.List(suiteCtx, events)).To(Succeed())
	Expect(events.Items).NotTo(BeEmpty())
	raw, err := json.Marshal(events)
	Expect(err).NotTo(HaveOccurred())
	Expect(containsAny(string(raw), values)).To(BeEmpty(), "a token value is in an event")

	toks := &cfv1.CloudflareTokenList{}
	Expect(k8sClient.List(suiteCtx, toks)).To(Succeed())
	raw, err = json.Marshal(toks)
	Expect(err).NotTo(HaveOccurred())
	Expect(containsAny(string(raw), values)).To(BeEmpty(), "a token value is in a CloudflareToken")
}
