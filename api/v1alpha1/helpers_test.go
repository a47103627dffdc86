package v1alpha1_test

import (
	"slices"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

func withCodecs(c *rest.Config) *rest.Config {
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

func discoveryFor(c *rest.Config) *discovery.DiscoveryClient {
	return discovery.NewDiscoveryClientForConfigOrDie(c)
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
