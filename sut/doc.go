// Package sut starts, attaches to and stops the processes of the system
// under test, waits for them to be ready, captures their logs and notices
// when one dies.
package sut
