// Package certstest issues certificates for tests that need ones the
// product never issues, such as a user's client certificate, a node
// certificate signed outside SignNodeCSR, or a leaf with the wrong usage.
//
// Issue signs with a *certs.CA, so the result verifies against ca.Pool()
// like the product's own certificates. It reads the wall clock (valid from
// a minute ago for an hour) and fails the test on any error; it is safe
// for concurrent use but, like t.Fatal, must be called from the test's
// goroutine.
package certstest
